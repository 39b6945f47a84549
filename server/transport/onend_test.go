package transport

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/limits"
)

// TestOnEnd checks that a stream of a procedure that ends through its life
// gets no context of its own, still reports its end through OnEnd, once,
// at a drain (and at once to an OnEnd after it), and that OnEnd leaves a
// call with a context of its own, which ends instead, alone.
func TestOnEnd(t *testing.T) {
	t.Parallel()
	bounds := limits.Limits{MaxTimeout: time.Hour}.WithDefaults()
	start := func(ends, asked bool) (*callLife, *http.Request) {
		c := &Call{Known: true, StreamType: connect.StreamTypeServer, Start: time.Now(),
			procedure: &Procedure{StreamType: connect.StreamTypeServer, EndsThroughLife: ends}}
		if asked {
			c.Timeout, c.AskedTimeout = time.Hour, true
		}
		life, _, r := startLife(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/s/M", nil), c, &bounds)
		return life, r
	}

	life, r := start(true, false)
	if _, ok := r.Context().Deadline(); ok || life.cancel != nil {
		t.Fatal("a stream that ends through its life got a context of its own")
	}
	ended := 0
	OnEnd(r.Context(), func() { ended++ })
	life.drain()
	life.drain()
	if ended != 1 {
		t.Errorf("after two drains OnEnd's function ran %d times, want once", ended)
	}
	late := false
	OnEnd(r.Context(), func() { late = true })
	if !late {
		t.Error("an OnEnd after the drain did not run at once")
	}
	life.finish()

	for _, tt := range []struct {
		name       string
		ends, asks bool
	}{{"a procedure that does not end through its life", false, false}, {"a call that asks for a timeout", true, true}} {
		life, r := start(tt.ends, tt.asks)
		ran := false
		OnEnd(r.Context(), func() { ran = true })
		life.drain()
		if ran {
			t.Errorf("%s: OnEnd's function ran", tt.name)
		}
		if r.Context().Err() == nil {
			t.Errorf("%s: its context did not end at the drain", tt.name)
		}
		life.finish()
	}
}
