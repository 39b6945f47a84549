package transport

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
)

func TestWithDeadline(t *testing.T) {
	t.Parallel()
	g := newCallGuard(Limits{DefaultTimeout: time.Minute, MaxTimeout: time.Hour})
	tests := []struct {
		name  string
		asked time.Duration // 0: no deadline
		want  time.Duration
	}{
		{"none asked: the default", 0, time.Minute},
		{"a shorter one is kept", time.Second, time.Second},
		{"a longer one is capped", 10 * time.Hour, time.Hour},
	}
	for _, tt := range tests {
		ctx := context.Background()
		if tt.asked > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tt.asked)
			defer cancel()
		}
		start := time.Now()
		ctx, cancel := g.withDeadline(ctx, time.Minute)
		defer cancel()
		deadline, ok := ctx.Deadline()
		if got := deadline.Sub(start); !ok || got > tt.want+time.Second || got < tt.want-time.Second {
			t.Errorf("%s: deadline in %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A handler that returns its context's error gets the code connect-go
// answers the client with, so that the access log and the metrics, outside
// the guard, record that code rather than unknown.
func TestContextErrorsGetTheirCodes(t *testing.T) {
	t.Parallel()
	g := newCallGuard(Limits{DefaultTimeout: time.Minute, MaxTimeout: time.Hour})
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
		unary := g.intercept(func(ctx context.Context, _ connect.Spec, _ connect.ServerStream) error {
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
		unary = g.intercept(func(context.Context, connect.Spec, connect.ServerStream) error {
			return connect.NewError(connect.CodeAborted, tt.name).WithCause(context.Canceled)
		})
		if err := unary(t.Context(), unarySpec, nil); connect.CodeOf(err) != connect.CodeAborted {
			t.Errorf("unary, %s: a connect error's code became %v", tt.name, connect.CodeOf(err))
		}
	}
}
