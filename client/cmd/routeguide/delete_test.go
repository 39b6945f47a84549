package main

import (
	"strings"
	"testing"

	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestDelete: delete reaches DeleteNote, which a server that verifies no
// tokens refuses with unauthenticated, saying why; a bad sequence is
// refused before any call.
func TestDelete(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--token", "not-checked-here", "delete", "1"}, []string{"unauthenticated", "--auth-issuer"}},
		{[]string{"delete", "first"}, []string{"positive whole number"}},
		{[]string{"delete"}, []string{"one argument"}},
	} {
		_, _, err := runCLI(t, ts.URL, "", tc.args...)
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%q: error %v, want one that says %q", tc.args, err, want)
			}
		}
	}
}
