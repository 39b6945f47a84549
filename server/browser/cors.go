package browser

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"
)

// corsMaxAgeSeconds is how long a browser may keep a preflight's answer:
// two hours, the most that Chromium honours.
const corsMaxAgeSeconds = 2 * 60 * 60

// CORS wraps h to allow calls from pages at origins, or returns h unchanged
// when there are none. An origin is scheme://host[:port], such as
// http://localhost:3000; one "*" in it matches anything
// (https://*.example.com), and "*" alone allows every origin. Preflights are
// answered, and the headers that carry gRPC-Web status exposed, without
// which a browser sees every error as unknown. Credentials (cookies, TLS
// client certificates) are never allowed across origins.
func CORS(h http.Handler, origins []string) (http.Handler, error) {
	if len(origins) == 0 {
		return h, nil
	}
	for _, o := range origins {
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: connectcors.AllowedMethods(),
		// A page on another origin sends its bearer token, as the
		// server's own page does; a header, unlike a cookie, is sent only
		// by a script that holds the token.
		// Idempotency-Key lets a page's PostNote be sent again safely.
		AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization", "Idempotency-Key"),
		ExposedHeaders: append(connectcors.ExposedHeaders(),
			// A compressed Connect stream names its codec here; a client
			// that asked for compression cannot read the stream without it.
			"Connect-Content-Encoding"),
		MaxAge: corsMaxAgeSeconds,
	})
	return c.Handler(h), nil
}

// schemePattern matches a URL scheme (RFC 3986, section 3.1).
var schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// checkOrigin reports whether origin is "*" or has the form
// scheme://host[:port], with at most one "*" in it. A browser's Origin
// header never has a path, not even "/", so an origin with one would never
// match and is refused rather than silently ignored.
func checkOrigin(origin string) error {
	if origin == "*" {
		return nil
	}
	scheme, host, ok := strings.Cut(origin, "://")
	if !ok || !schemePattern.MatchString(scheme) || host == "" || strings.ContainsAny(host, "/?#@ \t") ||
		strings.Count(origin, "*") > 1 {
		return fmt.Errorf("CORS origin %q: want scheme://host[:port] with nothing after it, "+
			"such as http://localhost:3000, or * for every origin", origin)
	}
	return nil
}
