package main

import (
	"testing"

	"go.uber.org/goleak"
)

// Each run starts a server; none may outlive its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
