package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNemesisFlags checks that bad flags are refused, naming the flag,
// before any cluster starts.
func TestNemesisFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-faults", "kill,crash"}, `unknown fault "crash"`},
		{[]string{"-faults", ""}, `unknown fault ""`},
		{[]string{"-targets", "nats,haproxy"}, `unknown target "haproxy"`},
		{[]string{"-duration", "0s"}, "-duration"},
		{[]string{"-posters", "0", "-chatters", "0"}, "-posters and -chatters"},
		{[]string{"-area-watchers", "0", "-world-watchers", "0"}, "-area-watchers and -world-watchers"},
		{[]string{"-locations", "20001"}, "-locations must be in [1, 20000]"},
		{[]string{"-rate", "-1"}, "-rate"},
		{[]string{"-rate", "6001"}, "-rate"},
		{[]string{"-protocol", "smoke"}, `unknown protocol "smoke"`},
		{[]string{"stray"}, `unexpected argument "stray"`},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(t.Context(), append([]string{"nemesis"}, tt.args...), &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("nemesis %q: got %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

func TestParseFaults(t *testing.T) {
	t.Parallel()
	got, err := parseFaults("stop, kill,stop")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"stop", "kill"}, got); diff != "" {
		t.Errorf("parseFaults (-want +got):\n%s", diff)
	}
}
