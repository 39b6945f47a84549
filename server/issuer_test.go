package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/identity"
)

// testAudience is the client ID the test servers accept tokens for.
const testAudience = "routeguide"

// testIssuer is an OpenID provider on loopback that serves discovery and the
// public half of a key made in the test. Tokens are signed by the test: no
// token issuer ships in the product.
type testIssuer struct {
	srv *httptest.Server
	key *ecdsa.PrivateKey
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &testIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.srv.URL,
			"jwks_uri":                              iss.srv.URL + "/keys",
			"authorization_endpoint":                iss.srv.URL + "/auth",
			"token_endpoint":                        iss.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "k1", Algorithm: string(jose.ES256), Use: "sig"},
		}})
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

// claims returns the claims of a valid token for subject, named name.
func (iss *testIssuer) claims(subject, name string, roles ...string) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":  iss.srv.URL,
		"sub":  subject,
		"aud":  testAudience,
		"iat":  now.Unix(),
		"exp":  now.Add(time.Hour).Unix(),
		"name": name,
	}
	if len(roles) > 0 {
		c["roles"] = roles
	}
	return c
}

// sign returns a compact JWS of claims, signed with the issuer's key.
func (iss *testIssuer) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: iss.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), "k1"))
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

// token returns a valid token for subject.
func (iss *testIssuer) token(t testing.TB, subject, name string, roles ...string) string {
	return iss.sign(t, iss.claims(subject, name, roles...))
}

// identityOption verifies the issuer's tokens, with writes for who may write.
func (iss *testIssuer) identityOption(t testing.TB, writes server.Writes) server.Option {
	t.Helper()
	v, err := identity.New(t.Context(), identity.Config{Issuer: iss.srv.URL, Audiences: []string{testAudience}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return server.WithIdentity(v, writes)
}

// bearer is an HTTP client that sends a bearer token with every request.
type bearer struct {
	next  *http.Client
	token string // none when empty
}

func (b *bearer) Do(r *http.Request) (*http.Response, error) {
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.Do(r)
}
