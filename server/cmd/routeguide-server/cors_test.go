package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// startForCORS runs the command with args and returns its base URL.
func startForCORS(t *testing.T, args ...string) string {
	t.Helper()
	return "http://" + start(t, args...).addr
}

func allowOrigin(t *testing.T, url, origin string) string {
	t.Helper()
	return routeguidetest.Preflight(t, url, origin).Header.Get("Access-Control-Allow-Origin")
}

func TestCORSOriginFlag(t *testing.T) {
	t.Parallel()
	url := startForCORS(t, "--cors-origin", "http://localhost:3000", "--cors-origin", "https://app.example.com")
	for _, origin := range []string{"http://localhost:3000", "https://app.example.com"} {
		if got := allowOrigin(t, url, origin); got != origin {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q, want it echoed", origin, got)
		}
	}
	if got := allowOrigin(t, url, "http://localhost:4000"); got != "" {
		t.Errorf("preflight from an origin not given: Access-Control-Allow-Origin = %q, want none", got)
	}
}

func TestCORSOriginFlagDefault(t *testing.T) {
	t.Parallel()
	url := startForCORS(t)
	if got := allowOrigin(t, url, "http://localhost:3000"); got != "" {
		t.Errorf("with no --cors-origin, preflight: Access-Control-Allow-Origin = %q, want none", got)
	}
}

func TestCORSOriginFlagRefusesBadOrigin(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var stderr strings.Builder
	err := run(ctx, []string{"--addr", "127.0.0.1:0", "--cors-origin", "localhost:3000"}, noEnv, &stderr)
	if err == nil || !strings.Contains(err.Error(), "localhost:3000") {
		t.Errorf("run with --cors-origin localhost:3000: %v, want an error naming it", err)
	}
}
