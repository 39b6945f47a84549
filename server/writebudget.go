package server

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connectproto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/routeguide/routeguide/server/budget"
)

// A WriteBudget charges each write to its client, and says whether the
// client may make it. [budget.Local] and [budget.Shared] are two.
type WriteBudget interface {
	Allow(ctx context.Context, key budget.Key) budget.Decision
}

// WithWriteBudget charges every note written (each PostNote, each note
// of a RouteChat) to its caller's budget in b: the caller's author ID when
// signed in, else its address. A write over budget is refused with
// resource_exhausted and a google.rpc.RetryInfo that says when to try
// again, and stores nothing. By default each Server has a [budget.Local]
// with [budget.DefaultRate] and [budget.DefaultBurst]; a nil b charges
// nothing.
func WithWriteBudget(b WriteBudget) Option {
	return optionFunc(func(c *config) { c.budget, c.budgetSet = b, true })
}

// chargeWrite charges one write to who, or returns the error that refuses
// it.
func (g *routeGuide) chargeWrite(ctx context.Context, who caller) error {
	if g.budget == nil {
		return nil
	}
	d := g.budget.Allow(ctx, who.key())
	if d.Allowed {
		return nil
	}
	g.metrics.WriteRefused("over_budget")
	// Whole seconds, rounded up: a client that waits as long as it is told
	// is never refused again for the same reason.
	wait := d.RetryAfter.Truncate(time.Second)
	if wait < d.RetryAfter {
		wait += time.Second
	}
	err := connect.NewError(connect.CodeResourceExhausted, fmt.Sprintf(
		"this client has written its budget of notes: try again in %v (each client may write a few notes at once, then a steady few a minute)", wait))
	if detail, derr := connectproto.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); derr == nil {
		err = err.WithDetail(detail)
	}
	return err
}

// writeBudget returns the budget the options chose, or the default.
func (c *config) writeBudget() WriteBudget {
	if c.budgetSet {
		return c.budget
	}
	return budget.NewLocal(budget.LocalConfig{})
}
