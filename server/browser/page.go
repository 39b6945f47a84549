// Package browser serves what a web browser needs from a RouteGuide server:
// the page built in package web, and CORS for pages from other origins.
package browser

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/routeguide/routeguide/web"
)

// pageTypes gives the Content-Type of each kind of file the page is made
// of. It is spelled out rather than taken from package mime, whose answers
// depend on the machine's own tables.
var pageTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// pageSecurityPolicy lets the page load and call nothing but its own
// server, which is all it needs: no inline code, no other origin.
const pageSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// page serves the browser page embedded in package web: index.html at "/"
// and its other files beside it, for GET and HEAD only.
type page struct {
	files  map[string]*pageFile
	policy string // the Content-Security-Policy header
}

// pageFile is one file of the page, kept as is and gzipped, each form with
// an ETag of its own so that browsers revalidate rather than download again.
type pageFile struct {
	contentType string
	plain       []byte
	gz          []byte // nil when gzip would not make the file smaller
	etag, gzTag string
}

func newPage(fsys fs.FS) (*page, error) {
	p := &page{files: make(map[string]*pageFile), policy: pageSecurityPolicy}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		contentType, ok := pageTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("web page file %s: no Content-Type known for its extension", name)
		}
		plain, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(plain)
		tag := hex.EncodeToString(sum[:12])
		p.files[name] = &pageFile{
			contentType: contentType,
			plain:       plain,
			gz:          gzipped(plain),
			etag:        `"` + tag + `"`,
			gzTag:       `"` + tag + `-gz"`,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.files["index.html"] == nil {
		return nil, errors.New("web page has no index.html")
	}
	return p, nil
}

// embeddedPage serves the page built into package web. It is made once and
// shared, since it never changes.
var embeddedPage = sync.OnceValues(func() (*page, error) {
	return newPage(web.Files())
})

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := cmp.Or(strings.TrimPrefix(r.URL.Path, "/"), "index.html")
	f := p.files[name]
	if f == nil {
		// Not Found whatever the method, as before the page was mounted,
		// so that a gRPC call to an unknown service still reads as
		// unimplemented.
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	// The file names carry no version, so every use checks the ETag.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", p.policy)
	h.Set("Referrer-Policy", "no-referrer")
	h.Add("Vary", "Accept-Encoding")
	body, etag := f.plain, f.etag
	if f.gz != nil && acceptsGzip(r) {
		body, etag = f.gz, f.gzTag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// gzipped returns data compressed with gzip, or nil if that does not make
// it smaller.
func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	// Neither can fail: the level is a valid one, and a bytes.Buffer
	// takes every write.
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(data)
	_ = zw.Close()
	if buf.Len() >= len(data) {
		return nil
	}
	return buf.Bytes()
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip with
// a quality above zero, as every browser's does.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for coding := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(coding, ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			for param := range strings.SplitSeq(params, ";") {
				key, value, _ := strings.Cut(param, "=")
				if strings.EqualFold(strings.TrimSpace(key), "q") {
					q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
					return err == nil && q > 0
				}
			}
			return true
		}
	}
	return false
}
