package transport

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/limits"
)

// TestDeadline checks that a call's life gives it its deadline, once, from
// the moment its headers arrive: the default for a unary call that asks for
// none, the maximum for a stream, and never more than the maximum.
func TestDeadline(t *testing.T) {
	t.Parallel()
	bounds := limits.Limits{DefaultTimeout: time.Minute, MaxTimeout: time.Hour, RequestReadTimeout: time.Hour,
		StreamIdleTimeout: time.Hour, WriteTimeout: time.Hour}
	tests := []struct {
		name       string
		streamType connect.StreamType
		asked      time.Duration // 0: none
		want       time.Duration
	}{
		{"unary, none asked: the default", connect.StreamTypeUnary, 0, time.Minute},
		{"stream, none asked: the maximum", connect.StreamTypeBidi, 0, time.Hour},
		{"a shorter one is kept", connect.StreamTypeUnary, time.Second, time.Second},
		{"a longer one is capped", connect.StreamTypeServer, 10 * time.Hour, time.Hour},
	}
	for _, tt := range tests {
		c := &Call{Known: true, StreamType: tt.streamType, Start: time.Now(),
			Timeout: tt.asked, AskedTimeout: tt.asked > 0}
		r := httptest.NewRequest(http.MethodPost, "/test.Service/Method", nil)
		life, _, r := startLife(httptest.NewRecorder(), r, c, &bounds)
		deadline, ok := r.Context().Deadline()
		life.finish()
		if got := deadline.Sub(c.Start); !ok || got != tt.want {
			t.Errorf("%s: deadline in %v (set: %t), want %v", tt.name, got, ok, tt.want)
		}
		if got, ok := CallOf(r.Context()); !ok || got != c {
			t.Errorf("%s: the request's context does not carry its classification", tt.name)
		}
	}
}

// A handler that returns its context's error gets the code connect-go
// answers the client with, so that the access log and the metrics, outside
// the guard, record that code rather than unknown.
func TestContextErrorsGetTheirCodes(t *testing.T) {
	t.Parallel()
	s := New(limits.Limits{DefaultTimeout: time.Minute, MaxTimeout: time.Hour})
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want connect.Code
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Millisecond)
		}, connect.CodeDeadlineExceeded},
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, connect.CodeCanceled},
	}
	for _, tt := range tests {
		ctx, cancel := tt.ctx()
		defer cancel()
		unarySpec := connect.Spec{StreamType: connect.StreamTypeUnary}
		unary := s.intercept(func(ctx context.Context, _ connect.Spec, _ connect.ServerStream) error {
			<-ctx.Done()
			return fmt.Errorf("wait: %w", ctx.Err())
		})
		err := unary(ctx, unarySpec, nil)
		if got := connect.CodeOf(err); got != tt.want {
			t.Errorf("unary, %s: code %v (%v), want %v", tt.name, got, err, tt.want)
		}
		// A connect error keeps its code, even one that wraps a context
		// error. (A call whose context has ended before it starts is not
		// served at all.)
		unary = s.intercept(func(context.Context, connect.Spec, connect.ServerStream) error {
			return connect.NewError(connect.CodeAborted, tt.name).WithCause(context.Canceled)
		})
		if err := unary(t.Context(), unarySpec, nil); connect.CodeOf(err) != connect.CodeAborted {
			t.Errorf("unary, %s: a connect error's code became %v", tt.name, connect.CodeOf(err))
		}
	}
}
