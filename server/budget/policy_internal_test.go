package budget

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPolicyDecide(t *testing.T) {
	t.Parallel()
	p := Policy{Rate: 60, Burst: 3}.withDefaults() // one write a second
	sec := int64(time.Second)
	start := int64(1_000_000) * sec
	type step struct {
		at   int64 // seconds after start
		want Decision
	}
	steps := []step{
		{0, Decision{Allowed: true}},
		{0, Decision{Allowed: true}},
		{0, Decision{Allowed: true}},
		{0, Decision{RetryAfter: time.Second}},
		{0, Decision{RetryAfter: time.Second}}, // a refusal costs nothing
		{1, Decision{Allowed: true}},
		{1, Decision{RetryAfter: time.Second}},
		{100, Decision{Allowed: true}}, // idle: full again, and no more
		{100, Decision{Allowed: true}},
		{100, Decision{Allowed: true}},
		{100, Decision{RetryAfter: time.Second}},
	}
	var tat int64
	for i, s := range steps {
		var got Decision
		got, tat = p.decide(tat, start+s.at*sec)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d at %ds (-want +got):\n%s", i, s.at, diff)
		}
	}
}

func TestPolicyDefaults(t *testing.T) {
	t.Parallel()
	if got, want := (Policy{}).Refill(), 2*time.Minute; got != want {
		t.Errorf("default refill %v, want %v", got, want)
	}
}
