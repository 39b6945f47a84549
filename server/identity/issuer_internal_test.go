package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a Verifier leaves a goroutine
// behind: a key fetch, or a connection to the issuer.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testIssuer is an OpenID provider on loopback that serves discovery and a
// JWKS of keys made in the test, and counts the JWKS fetches. Tokens are
// signed by the test with go-jose: no token issuer ships in the product.
type testIssuer struct {
	t        testing.TB
	srv      *httptest.Server
	jwksHits atomic.Int64

	mu     sync.Mutex
	keys   map[string]jose.JSONWebKey // protected by mu; published, by kid
	broken bool                       // protected by mu; JWKS answers 500
}

func newIssuer(t testing.TB) *testIssuer {
	t.Helper()
	iss := &testIssuer{t: t, keys: make(map[string]jose.JSONWebKey)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.url(),
			"jwks_uri":                              iss.url() + "/keys",
			"authorization_endpoint":                iss.url() + "/auth",
			"token_endpoint":                        iss.url() + "/token",
			"id_token_signing_alg_values_supported": []string{"ES256", "RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		iss.jwksHits.Add(1)
		iss.mu.Lock()
		defer iss.mu.Unlock()
		if iss.broken {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		var set jose.JSONWebKeySet
		for _, k := range iss.keys {
			set.Keys = append(set.Keys, k.Public())
		}
		json.NewEncoder(w).Encode(set)
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

func (iss *testIssuer) url() string { return iss.srv.URL }

// signingKey is a private key and the algorithm it signs with.
type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

// newKey makes an ES256 key; publish it with publish.
func newKey(t testing.TB, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.ES256, key: k}
}

// rsaKey is made once: RSA keys are slow to make.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newRSAKey(kid string) signingKey {
	return signingKey{kid: kid, alg: jose.RS256, key: rsaKey()}
}

func (iss *testIssuer) publish(k signingKey) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys[k.kid] = jose.JSONWebKey{Key: k.key, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

func (iss *testIssuer) setBroken(broken bool) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.broken = broken
}

// claims returns valid claims for subject, for audience "page".
func (iss *testIssuer) claims(subject string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": iss.url(),
		"sub": subject,
		"aud": "page",
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// sign makes a compact JWS of claims with k.
func sign(t testing.TB, k signingKey, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if k.kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), k.kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// clock is a Verifier's clock that a test moves forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// newVerifier returns a Verifier of iss's tokens for audiences "page" and
// "cli", with cfg's other fields, on a clock the test moves, closed when the
// test ends.
func newVerifier(t testing.TB, iss *testIssuer, cfg Config) (*Verifier, *clock) {
	t.Helper()
	cfg.Issuer = iss.url()
	if cfg.Audiences == nil {
		cfg.Audiences = []string{"page", "cli"}
	}
	v, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	v.now = c.now
	t.Cleanup(v.Close)
	return v, c
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// jsonBase64 returns v in JSON, base64url without padding.
func jsonBase64(v any) (string, error) {
	b, err := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b), err
}

// hmacToken signs claims with HS256 and a key anyone could guess.
func hmacToken(t testing.TB, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}
