package transport

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/limits"
)

var stackProcedures = Procedures{
	"/test.Service/Unary":        {StreamType: connect.StreamTypeUnary},
	"/test.Service/ServerStream": {StreamType: connect.StreamTypeServer},
	"/test.Service/ClientStream": {StreamType: connect.StreamTypeClient},
	"/test.Service/Bidi":         {StreamType: connect.StreamTypeBidi},
}

// TestClassifyServesEverything checks that every request reaches the
// handler, whatever its path, with its classification.
func TestClassifyServesEverything(t *testing.T) {
	t.Parallel()
	served := 0
	h := New(testLimits).Classify(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if c, ok := CallOf(r.Context()); ok && c.Procedure == r.URL.Path {
			served++
		}
	}), stackProcedures)
	paths := []string{"/test.Service/Unary", "/test.Service/ServerStream", "/test.Service/ClientStream",
		"/test.Service/Bidi", "/", "/no.Such/Procedure"}
	for _, path := range paths {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, path, nil))
	}
	if served != len(paths) {
		t.Fatalf("served %d of %d requests", served, len(paths))
	}
}

// deepCall uses about depth × 300 bytes of stack, as a call through
// connect-go does.
//
//go:noinline
func deepCall(depth int) byte {
	var frame [256]byte
	frame[depth%len(frame)] = byte(depth)
	if depth == 0 {
		return frame[0]
	}
	return deepCall(depth-1) + frame[depth%7]
}

// BenchmarkHandlerGoroutine serves each request on a new goroutine, as
// net/http does, through a handler that goes 12 KiB deep: presized (a unary
// path) or growing by doubling (a stream's path).
func BenchmarkHandlerGoroutine(b *testing.B) {
	for _, path := range []string{"/test.Service/Unary", "/test.Service/ClientStream"} {
		b.Run(path[len("/test.Service/"):], func(b *testing.B) {
			h := New(testLimits).Classify(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { deepCall(40) }), stackProcedures)
			r := httptest.NewRequest(http.MethodPost, path, nil)
			w := httptest.NewRecorder()
			done := make(chan struct{})
			for b.Loop() {
				go func() {
					h.ServeHTTP(w, r)
					done <- struct{}{}
				}()
				<-done
			}
		})
	}
}

// testLimits are limits no test here reaches.
var testLimits = limits.Limits{StreamIdleTimeout: time.Hour, WriteTimeout: time.Hour, DefaultTimeout: time.Hour,
	MaxTimeout: time.Hour, RequestReadTimeout: time.Hour}
