package browser

import (
	"net/http"
	"testing"
	"testing/fstest"
)

func TestNewPageRefuses(t *testing.T) {
	t.Parallel()
	tests := map[string]fstest.MapFS{
		"no index.html":     {"app.js": {Data: []byte("x")}},
		"unknown extension": {"index.html": {Data: []byte("x")}, "app.js.map": {Data: []byte("{}")}},
	}
	for name, fsys := range tests {
		if _, err := newPage(fsys); err == nil {
			t.Errorf("%s: newPage gave no error", name)
		}
	}
	if _, err := embeddedPage(); err != nil {
		t.Errorf("the embedded page: %v", err)
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"":                         false,
		"gzip":                     true,
		"gzip, deflate, br, zstd":  true,
		"br;q=1.0, GZIP;q=0.5":     true,
		"gzip;q=0":                 false,
		"gzip; q=0.000":            false,
		"deflate":                  false,
		"x-gzip":                   false,
		"gzip;q=bad":               false,
		"identity, gzip ; level=1": true,
	}
	for header, want := range tests {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if header != "" {
			r.Header.Set("Accept-Encoding", header)
		}
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
