package transport

import "testing"

// TestFastPathOff: the names in fastPathsOff, and only those, are left out.
func TestFastPathOff(t *testing.T) {
	saved := fastPathsOff
	t.Cleanup(func() { fastPathsOff = saved })
	fastPathsOff = "flush,batchconn"
	for name, want := range map[string]bool{"flush": true, "batchconn": true, "growstack": false, "": false} {
		if got := fastPathOff(name); got != want {
			t.Errorf("fastPathOff(%q) with %q = %v, want %v", name, fastPathsOff, got, want)
		}
	}
}
