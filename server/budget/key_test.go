package budget_test

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/server/budget"
)

// kvKey is what a NATS KV key and subject token may be.
var kvKey = regexp.MustCompile(`^[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+$`)

func TestKeys(t *testing.T) {
	t.Parallel()
	addr := func(s string) budget.Key { return budget.AddrKey(netip.MustParseAddr(s)) }
	same := [][2]budget.Key{
		{addr("192.0.2.7"), addr("::ffff:192.0.2.7")},
		{addr("2001:db8:1:2::1"), addr("2001:db8:1:2:ffff:ffff:ffff:ffff")},
		{addr("2001:db8:1:2::1"), addr("2001:db8:1:2::1%eth0")},
		{budget.AuthorKey("Zm9vYmFyYmF6cXV4cXV1eA"), budget.AuthorKey("Zm9vYmFyYmF6cXV4cXV1eA")},
	}
	for _, p := range same {
		if p[0] != p[1] {
			t.Errorf("%v and %v differ, want one client", p[0], p[1])
		}
	}
	distinct := []budget.Key{
		addr("192.0.2.7"), addr("192.0.2.8"), addr("2001:db8:1:2::1"), addr("2001:db8:1:3::1"),
		addr("::"), budget.AddrKey(netip.Addr{}),
		budget.AuthorKey("Zm9vYmFyYmF6cXV4cXV1eA"), budget.AuthorKey("Zm9vYmFyYmF6cXV4cXV1eB"),
		budget.AuthorKey(strings.Repeat("a", 25)), budget.AuthorKey(strings.Repeat("a", 26)),
		budget.AuthorKey("a.b"), budget.AuthorKey("a b"), budget.AuthorKey(""),
	}
	seen := make(map[budget.Key]int)
	names := make(map[string]int)
	for i, k := range distinct {
		if j, dup := seen[k]; dup {
			t.Errorf("keys %d and %d are equal: %v", j, i, k)
		}
		seen[k] = i
		s := k.String()
		if !kvKey.MatchString(s) {
			t.Errorf("key %d is %q, not a KV key", i, s)
		}
		if j, dup := names[s]; dup {
			t.Errorf("keys %d and %d are both named %q", j, i, s)
		}
		names[s] = i
	}
	if got, want := addr("2001:db8:1:2::1").String(), "6.20010db800010002"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := addr("::ffff:192.0.2.7").String(), "4.c0000207"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
