package transport

import (
	"context"
	"testing"
	"time"
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
