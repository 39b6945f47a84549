package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/server"
)

// The page learns the issuer, its client ID and who may write from the
// flags, at /auth-config.json.
func TestPageSignInFromFlags(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args []string
		want map[string]string
	}{
		"no issuer": {want: map[string]string{"writes": "anyone"}},
		"signed-in writes": {
			args: []string{"--auth-issuer", "http://127.0.0.1:5556", "--auth-audience", "routeguide", "--writes", "signed-in"},
			want: map[string]string{"issuer": "http://127.0.0.1:5556", "clientId": "routeguide-web", "writes": "signed-in"},
		},
		"another client": {
			args: []string{"--auth-issuer", "https://idp.example", "--auth-audience", "web", "--auth-client-id", "web"},
			want: map[string]string{"issuer": "https://idp.example", "clientId": "web", "writes": "anyone"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig(tt.args, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := server.New(nil, cfg.writes.pageSignIn())
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/auth-config.json", nil))
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("/auth-config.json: %v: %s", err, rec.Body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("/auth-config.json (-want +got):\n%s", diff)
			}
		})
	}
}
