package benchserver

import (
	"errors"
	"flag"
	"io"
	"net/http"
	"testing"
)

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want Flags
	}{
		{nil, Flags{Addr: "127.0.0.1:0"}},
		{[]string{"-addr", "127.0.0.1:50070", "-features", "f.json"}, Flags{Addr: "127.0.0.1:50070", Features: "f.json"}},
	} {
		flags := flag.NewFlagSet("test", flag.ContinueOnError)
		var got Flags
		got.Define(flags, "dataset `file`")
		if err := flags.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// TestListenH2C serves over the listener, batched and not, and checks that
// a client speaking HTTP/2 without TLS is answered over HTTP/2.
func TestListenH2C(t *testing.T) {
	t.Parallel()
	for _, batch := range []bool{false, true} {
		listener, err := Listen("127.0.0.1:0", batch)
		if err != nil {
			t.Fatal(err)
		}
		s := H2C(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.Proto)
		}))
		done := make(chan error, 1)
		go func() { done <- s.Serve(listener) }()
		transport := &http.Transport{Protocols: new(http.Protocols)}
		transport.Protocols.SetUnencryptedHTTP2(true)
		resp, err := (&http.Client{Transport: transport}).Get("http://" + listener.Addr().String())
		if err != nil {
			t.Fatalf("batch %v: %v", batch, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(body), "HTTP/2.0"; got != want {
			t.Errorf("batch %v: served over %s, want %s", batch, got, want)
		}
		transport.CloseIdleConnections()
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("batch %v: Serve: %v", batch, err)
		}
	}
}
