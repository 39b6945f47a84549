package identity

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestVerifyOverHTTP1AndHTTP2: the token reaches Verify from the headers
// of a real request over HTTP/1.1 and over HTTP/2 without TLS (where header
// names travel in lower case), as gRPC metadata, gRPC-Web and Connect
// headers all do.
func TestVerifyOverHTTP1AndHTTP2(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	key := newKey(t, "k")
	iss.publish(key)
	v, _ := newVerifier(t, iss, Config{})
	token := sign(t, key, map[string]any{
		"iss": iss.url(), "sub": "s1", "aud": "cli", "name": "Ada", "exp": time.Now().Add(time.Hour).Unix(),
	})

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := v.Verify(r.Context(), r.Header)
			if err != nil {
				fmt.Fprintf(w, "%s %v", r.Proto, reasonOf(err))
				return
			}
			fmt.Fprintf(w, "%s %s", r.Proto, id.Name)
		}),
		Protocols: new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})

	for _, tt := range []struct {
		proto  string
		header string
		value  string
		want   string
	}{
		{"HTTP/1.1", "Authorization", "Bearer " + token, "HTTP/1.1 Ada"},
		{"HTTP/2.0", "authorization", "Bearer " + token, "HTTP/2.0 Ada"},
		{"HTTP/2.0", "authorization", "bearer " + token, "HTTP/2.0 Ada"},
		{"HTTP/1.1", "", "", "HTTP/1.1 missing"},
		{"HTTP/2.0", "", "", "HTTP/2.0 missing"},
	} {
		t.Run(tt.proto+" "+tt.want, func(t *testing.T) {
			t.Parallel()
			transport := &http.Transport{Protocols: new(http.Protocols)}
			if tt.proto == "HTTP/2.0" {
				transport.Protocols.SetUnencryptedHTTP2(true)
			} else {
				transport.Protocols.SetHTTP1(true)
			}
			t.Cleanup(transport.CloseIdleConnections)
			req, err := http.NewRequestWithContext(t.Context(), "POST", "http://"+l.Addr().String()+"/routeguide.RouteGuide/RouteChat", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header[tt.header] = []string{tt.value}
			}
			resp, err := (&http.Client{Transport: transport}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(body); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
