package main

import (
	"io"
	"strings"
	"testing"
)

// TestHealthProbe runs the probe of the container image's HEALTHCHECK
// against a real server: SERVING for the whole server and for RouteGuide,
// an error for a service the server does not have and for a port where
// nothing listens.
func TestHealthProbe(t *testing.T) {
	t.Parallel()
	p := start(t)
	for _, service := range []string{"", "routeguide.RouteGuide"} {
		var stdout strings.Builder
		if err := healthProbe(t.Context(), []string{"--addr", p.addr, service}, noEnv, &stdout, io.Discard); err != nil {
			t.Errorf("health %q: %v", service, err)
		}
		if got, want := stdout.String(), `"`+service+`" SERVING`+"\n"; got != want {
			t.Errorf("health %q printed %q, want %q", service, got, want)
		}
	}
	err := healthProbe(t.Context(), []string{"--addr", p.addr, "no.such.Service"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("health of a service the server lacks = %v, want an error that says not_found", err)
	}
	// The address from the environment, with its host left out, as a
	// container sets it.
	_, port, _ := strings.Cut(p.addr, ":")
	env := func(name string) string {
		if name == "ROUTEGUIDE_ADDR" {
			return ":" + port
		}
		return ""
	}
	if err := healthProbe(t.Context(), nil, env, io.Discard, io.Discard); err != nil {
		t.Errorf("health with ROUTEGUIDE_ADDR=:%s: %v", port, err)
	}
	p.stop()
	if err := healthProbe(t.Context(), []string{"--addr", p.addr}, noEnv, io.Discard, io.Discard); err == nil {
		t.Errorf("health of a stopped server = nil, want an error")
	}
}
