package devidp

import (
	"strings"
	"testing"
	"time"
)

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	const issuer = "http://127.0.0.1:5556"
	web := func(uris ...string) []Client { return []Client{{ID: "web", RedirectURIs: uris}} }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no issuer", Config{}, "no issuer"},
		{"http off loopback", Config{Issuer: "http://idp.example.com"}, "loopback"},
		{"issuer with a path", Config{Issuer: issuer + "/realms/dev"}, "no path"},
		{"not http", Config{Issuer: "ftp://127.0.0.1"}, "http or https"},
		{"negative lifetime", Config{Issuer: issuer, TokenLifetime: -time.Second}, "negative"},
		{"user without password", Config{Issuer: issuer, Users: []User{{Username: "eve"}}}, `"eve" has no password`},
		{"user twice", Config{Issuer: issuer, Users: []User{{Username: "a", Password: "p"}, {Username: "a", Password: "q"}}}, "twice"},
		{"client without redirect", Config{Issuer: issuer, Clients: web()}, "no redirect URI"},
		{"client named like the CLI", Config{Issuer: issuer, Clients: []Client{{ID: CLIClientID, RedirectURIs: []string{"http://127.0.0.1/"}}}}, "twice"},
		{"relative redirect", Config{Issuer: issuer, Clients: web("/callback")}, "absolute"},
		{"http redirect off loopback", Config{Issuer: issuer, Clients: web("http://app.example.com/")}, "loopback"},
		{"CORS origin with a path", Config{Issuer: issuer, CORSOrigins: []string{"http://127.0.0.1:8080/app"}}, "scheme://host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
			}
		})
	}
}

func TestNewAcceptsHTTPSAndLoopbackNames(t *testing.T) {
	t.Parallel()
	for _, issuer := range []string{"https://idp.example.com", "http://localhost:5556", "http://[::1]:5556/"} {
		p, err := New(Config{Issuer: issuer})
		if err != nil {
			t.Errorf("New(%q): %v", issuer, err)
			continue
		}
		if got, want := p.Issuer(), strings.TrimSuffix(issuer, "/"); got != want {
			t.Errorf("Issuer() = %q, want %q", got, want)
		}
	}
}
