// Package defaults fills in the defaults of the server's limits and
// settings, where a zero or negative value means "the default".
package defaults

import "time"

// Set sets *field to value unless it is positive already.
func Set[T int | int64 | time.Duration](field *T, value T) {
	if *field <= 0 {
		*field = value
	}
}
