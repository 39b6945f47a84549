package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/routeguide/routeguide/internal/natstest"
)

// TestCmdlineShowsNoSecret runs the server against a NATS that wants a
// user and password, given once in the --notes URL and once in
// --notes-password-file, and reads /debug/pprof/cmdline from the real
// admin port: the password is never there, and notes are stored.
func TestCmdlineShowsNoSecret(t *testing.T) {
	t.Parallel()
	const user, password = "routeguide", "s3cret-Pa55"
	passwordFile := writeFile(t, "nats-password", password+"\n")
	for _, args := range []func(withUser url.URL) []string{
		func(u url.URL) []string {
			u.User = url.UserPassword(user, password)
			return []string{"--notes=" + u.String()}
		},
		func(u url.URL) []string {
			return []string{"--notes", u.String(), "--notes-password-file", passwordFile}
		},
	} {
		node := natstest.Start(t, func(o *server.Options) { o.Username, o.Password = user, password })
		withUser, err := url.Parse(node.URL())
		if err != nil {
			t.Fatal(err)
		}
		withUser.User = url.User(user)
		args := args(*withUser)
		s := startRun(t, append([]string{"--addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0", "--log-format=json"}, args...), nil)
		chatOnce(t, s, "behind a password")
		res, err := http.Get(s.adminAddr + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		cmdline := strings.Split(string(body), "\x00")
		if strings.Contains(string(body), password) || !strings.Contains(string(body), "127.0.0.1") {
			t.Errorf("/debug/pprof/cmdline with %q = %q: want it without the password", args, cmdline)
		}
		for _, record := range s.logs.records() {
			if line := fmt.Sprint(record); strings.Contains(line, password) {
				t.Errorf("logged the password: %s", line)
			}
		}
	}
}

func TestRedactArgs(t *testing.T) {
	t.Parallel()
	got := redactArgs([]string{
		"routeguide-server", "--notes=nats://u:pw@h:4222,nats://tok@h2:4222", "-notes", "nats://u:pw@h:4222",
		"--oidc-client-secret", "abc", "--token=def", "--notes-password-file=/run/pw", "--addr=:50051",
	})
	want := []string{
		"routeguide-server", "--notes=nats://u:xxxxx@h:4222,nats://xxxxx@h2:4222", "-notes", "nats://u:xxxxx@h:4222",
		"--oidc-client-secret", "xxxxx", "--token=xxxxx", "--notes-password-file=/run/pw", "--addr=:50051",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("redactArgs (-want +got):\n%s", diff)
	}
}
