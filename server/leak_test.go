package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Servers, streams and interceptors start goroutines; none may outlive the
// tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
