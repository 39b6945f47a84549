package budget_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/routeguide/routeguide/server/budget"
)

func ExampleLocal() {
	clock := newClock()
	limiter := budget.NewLocal(budget.LocalConfig{Policy: budget.Policy{Rate: 30, Burst: 2}, Now: clock.Now})
	client := budget.KeyFor("", netip.MustParseAddr("192.0.2.1"))
	for range 3 {
		d := limiter.Allow(context.Background(), client)
		fmt.Println(d.Allowed, d.RetryAfter)
	}
	// Output:
	// true 0s
	// true 0s
	// false 2s
}
