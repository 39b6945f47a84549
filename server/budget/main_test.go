package budget_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a limiter, a NATS connection or an
// embedded NATS server leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
