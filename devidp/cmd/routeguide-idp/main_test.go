package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/routeguide/routeguide/devidp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start runs the serve subcommand with args on a free loopback port and
// returns its issuer; the server stops, and run's error is checked, when
// the test ends.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), w, t.Output())
		w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the issuer line: %v", err)
	}
	go io.Copy(io.Discard, out)
	issuer, ok := strings.CutPrefix(strings.TrimSpace(line), "issuer ")
	if !ok {
		t.Fatalf("first line %q, want issuer URL", line)
	}
	return issuer
}

// token runs the token subcommand and returns what it printed.
func token(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := run(t.Context(), append([]string{"token"}, args...), &out, t.Output())
	return strings.TrimSpace(out.String()), err
}

func verify(t *testing.T, issuer, audience, token string) map[string]any {
	t.Helper()
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	idToken, err := provider.Verifier(&oidc.Config{ClientID: audience}).Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("verify the printed token: %v", err)
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestTokenForBuiltInModerator(t *testing.T) {
	t.Parallel()
	issuer := start(t)
	// What the cluster waits for.
	resp, err := http.Get(issuer + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /ready: %s, want 200", resp.Status)
	}

	tok, err := token(t, "--issuer", issuer, "--user", "mod")
	if err != nil {
		t.Fatal(err)
	}
	claims := verify(t, issuer, "routeguide", tok)
	got := []any{claims["name"], claims["preferred_username"], claims["roles"]}
	want := []any{"Molly Moderator", "mod", []any{"moderator"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("name, preferred_username, roles (-want +got):\n%s", diff)
	}

	if _, err := token(t, "--issuer", issuer, "--user", "mod", "--password", "guess"); !errors.Is(err, devidp.ErrLoginRefused) {
		t.Errorf("token with a wrong password: err = %v, want %v", err, devidp.ErrLoginRefused)
	}
	if _, err := token(t, "--issuer", issuer, "--user", "carol"); err == nil || !strings.Contains(err.Error(), "--password") {
		t.Errorf("token for a user that is not built in, without --password: err = %v, want it to ask for --password", err)
	}
}

func TestServeFlags(t *testing.T) {
	t.Parallel()
	users := filepath.Join(t.TempDir(), "users.json")
	err := os.WriteFile(users, []byte(`[{"username": "carol", "password": "c", "name": "Carol", "subject": "u-3", "roles": ["moderator"]}]`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	issuer := start(t, "--users", users, "--audience", "routeguide-test", "--client", "web=http://127.0.0.1:8080/,http://localhost:8080/")

	tok, err := token(t, "--issuer", issuer, "--user", "carol", "--password", "c",
		"--client", "web", "--redirect-uri", "http://localhost:8080/")
	if err != nil {
		t.Fatal(err)
	}
	claims := verify(t, issuer, "routeguide-test", tok)
	got := []any{claims["sub"], claims["name"], claims["aud"], claims["roles"]}
	want := []any{"u-3", "Carol", []any{"web", "routeguide-test"}, []any{"moderator"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sub, name, aud, roles (-want +got):\n%s", diff)
	}
	if _, err := token(t, "--issuer", issuer, "--user", "mod"); !errors.Is(err, devidp.ErrLoginRefused) {
		t.Errorf("a built-in user when --users is given: err = %v, want %v", err, devidp.ErrLoginRefused)
	}
}

func TestServeRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, "loopback only"},
		{[]string{"--listen", "127.0.0.1:0", "--issuer", "http://idp.example.com"}, "loopback host"},
		{[]string{"--listen", "127.0.0.1:0", "--client", "web"}, "CLIENT_ID=REDIRECT_URI"},
		{[]string{"--listen", "127.0.0.1:0", "--users", "/nonexistent/users.json"}, "read users"},
		{[]string{"nonsense"}, "unknown subcommand"},
	} {
		err := run(t.Context(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
