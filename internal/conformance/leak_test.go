package conformance_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Servers and streams start goroutines; none may outlive the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
