package identity

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVerifyAccepts(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	es, rs := newKey(t, "es"), newRSAKey("rs")
	iss.publish(es)
	iss.publish(rs)
	v, _ := newVerifier(t, iss, Config{})
	v2, _ := newVerifier(t, iss, Config{RolesClaim: "realm_access.roles"})
	v3, _ := newVerifier(t, iss, Config{RolesClaim: "https://routeguide.example/roles"})

	tests := []struct {
		name     string
		verifier *Verifier
		key      signingKey
		claims   map[string]any
		want     Identity
	}{{
		name: "name", verifier: v, key: es,
		claims: map[string]any{"name": "Ada Lovelace", "preferred_username": "ada", "aud": []string{"other", "cli"}},
		want:   Identity{Subject: "s1", Name: "Ada Lovelace"},
	}, {
		name: "preferred_username", verifier: v, key: rs,
		claims: map[string]any{"preferred_username": "ada", "name": " \u202e "},
		want:   Identity{Subject: "s1", Name: "ada"},
	}, {
		name: "sub", verifier: v, key: es,
		want: Identity{Subject: "s1", Name: "s1"},
	}, {
		name: "moderator", verifier: v, key: es,
		claims: map[string]any{"sub": "m", "roles": []string{"reader", "moderator"}},
		want:   Identity{Subject: "m", Name: "m", Moderator: true},
	}, {
		name: "roles as one string", verifier: v, key: es,
		claims: map[string]any{"sub": "m", "roles": "moderator"},
		want:   Identity{Subject: "m", Name: "m", Moderator: true},
	}, {
		name: "other roles", verifier: v, key: es,
		claims: map[string]any{"sub": "m", "roles": []string{"moderators", "admin"}},
		want:   Identity{Subject: "m", Name: "m"},
	}, {
		name: "roles under another claim", verifier: v, key: es,
		claims: map[string]any{"sub": "m", "groups": []string{"moderator"}},
		want:   Identity{Subject: "m", Name: "m"},
	}, {
		name: "nested roles claim", verifier: v2, key: es,
		claims: map[string]any{"sub": "m", "realm_access": map[string]any{"roles": []string{"moderator"}}},
		want:   Identity{Subject: "m", Name: "m", Moderator: true},
	}, {
		name: "roles claim with dots at top level", verifier: v3, key: es,
		claims: map[string]any{"sub": "m", "https://routeguide.example/roles": []string{"moderator"}},
		want:   Identity{Subject: "m", Name: "m", Moderator: true},
	}, {
		name: "long name", verifier: v, key: es,
		claims: map[string]any{"name": strings.Repeat("é", 40)},
		want:   Identity{Subject: "s1", Name: strings.Repeat("é", 32)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			claims := iss.claims("s1")
			for k, val := range tt.claims {
				claims[k] = val
			}
			got, err := tt.verifier.Verify(t.Context(), bearer(sign(t, tt.key, claims)))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Issuer = iss.url()
			want.AuthorID = AuthorID(nil, iss.url(), want.Subject)
			want.Expiry = time.Unix(claims["exp"].(int64), 0)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	key := newKey(t, "k1")
	iss.publish(key)
	v, _ := newVerifier(t, iss, Config{})
	valid := sign(t, key, iss.claims("s1"))
	with := func(change map[string]any) string {
		c := iss.claims("s1")
		for k, val := range change {
			if val == nil {
				delete(c, k)
			} else {
				c[k] = val
			}
		}
		return sign(t, key, c)
	}
	parts := strings.Split(valid, ".")
	forged := iss.claims("s1")
	forged["sub"] = "someone else"
	forgedPayload, _ := jsonBase64(forged)
	otherIssuer := newIssuer(t)
	impostor := newKey(t, "k1") // the same kid, another key

	tests := []struct {
		name   string
		header http.Header
		reason Reason
		says   string
	}{
		{"missing", http.Header{}, ReasonMissing, "sign in at " + iss.url()},
		{"basic", http.Header{"Authorization": {"Basic YTpi"}}, ReasonMalformed, `"Bearer <token>"`},
		{"two headers", http.Header{"Authorization": {"Bearer " + valid, "Bearer " + valid}}, ReasonMalformed, "2 Authorization headers"},
		{"empty", bearer(""), ReasonMalformed, `"Bearer <token>"`},
		{"not a JWT", bearer("hello"), ReasonMalformed, "not a signed JWT"},
		{"too long", bearer(strings.Repeat("a", MaxTokenBytes+1)), ReasonMalformed, "more than the 16384"},
		{"payload not JSON", bearer(parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("[1,2")) + "." + parts[2]), ReasonMalformed, "not a JSON object"},
		{"no exp", bearer(with(map[string]any{"exp": nil})), ReasonMalformed, "no exp"},
		{"no sub", bearer(with(map[string]any{"sub": nil})), ReasonMalformed, "no sub"},
		{"alg none", bearer(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."), ReasonMalformed, "not a signed JWT"},
		{"HS256", bearer(hmacToken(t, iss.claims("s1"))), ReasonAlgorithm, `"HS256"`},
		{"expired", bearer(with(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})), ReasonExpired, "get a new one from " + iss.url()},
		{"not yet valid", bearer(with(map[string]any{"nbf": time.Now().Add(time.Hour).Unix()})), ReasonNotYetValid, "not valid before"},
		{"wrong issuer", bearer(with(map[string]any{"iss": otherIssuer.url()})), ReasonWrongIssuer, "issued by \"" + otherIssuer.url()},
		{"wrong audience", bearer(with(map[string]any{"aud": []string{"someone", "else"}})), ReasonWrongAudience, `audience "someone, else"; this server accepts "page, cli"`},
		{"no audience", bearer(with(map[string]any{"aud": nil})), ReasonWrongAudience, "audience none"},
		{"tampered", bearer(parts[0] + "." + forgedPayload + "." + parts[2]), ReasonBadSignature, "does not verify"},
		{"same kid, other key", bearer(sign(t, impostor, iss.claims("s1"))), ReasonBadSignature, "does not verify"},
		{"unknown key", bearer(sign(t, newKey(t, "k2"), iss.claims("s1"))), ReasonUnknownKey, `key "k2", which ` + iss.url() + " does not publish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.Verify(t.Context(), tt.header)
			var refused *Error
			if !errors.As(err, &refused) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if refused.Reason != tt.reason || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %v: %q, want %v saying %q", refused.Reason, err, tt.reason, tt.says)
			}
			if refused.Reason.Code() != codeUnauthenticated {
				t.Errorf("code %d, want unauthenticated", refused.Reason.Code())
			}
		})
	}
}

// TestRotatedKeyFetched: a token signed with a key the issuer has just
// published is accepted once the keys may be fetched again.
func TestRotatedKeyFetched(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	old, next := newKey(t, "2026-01"), newKey(t, "2026-02")
	iss.publish(old)
	v, clock := newVerifier(t, iss, Config{MinRefreshInterval: time.Minute})
	if _, err := v.VerifyToken(t.Context(), sign(t, old, iss.claims("s1"))); err != nil {
		t.Fatal(err)
	}
	iss.publish(next)
	_, err := v.VerifyToken(t.Context(), sign(t, next, iss.claims("s1")))
	if got, want := reasonOf(err), ReasonUnknownKey; got != want {
		t.Fatalf("within the interval: got %v, want %v", err, want)
	}
	clock.advance(time.Minute)
	if _, err := v.VerifyToken(t.Context(), sign(t, next, iss.claims("s1"))); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	if got, want := iss.jwksHits.Load(), int64(2); got != want {
		t.Errorf("JWKS fetched %d times, want %d", got, want)
	}
}

// TestUnknownKeyFloodFetchesOnce: tokens naming random keys, and altered
// tokens, make at most one fetch per interval, however many come at once.
func TestUnknownKeyFloodFetchesOnce(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	key := newKey(t, "k")
	iss.publish(key)
	v, clock := newVerifier(t, iss, Config{MinRefreshInterval: time.Hour})
	valid := sign(t, key, iss.claims("s1"))
	if _, err := v.VerifyToken(t.Context(), valid); err != nil {
		t.Fatal(err)
	}
	attacker := newKey(t, "")
	var wg sync.WaitGroup
	reasons := make(chan Reason, 400)
	for i := range 400 {
		wg.Go(func() {
			k := attacker
			k.kid = fmt.Sprintf("random-%d", i)
			if i%2 == 0 {
				k.kid = "k" // altered: the known kid, signed by another key
			}
			_, err := v.VerifyToken(t.Context(), sign(t, k, iss.claims("s1")))
			reasons <- reasonOf(err)
		})
	}
	wg.Wait()
	close(reasons)
	got := make(map[Reason]int)
	for r := range reasons {
		got[r]++
	}
	if diff := cmp.Diff(map[Reason]int{ReasonUnknownKey: 200, ReasonBadSignature: 200}, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	if got, want := iss.jwksHits.Load(), int64(1); got != want {
		t.Errorf("JWKS fetched %d times during the flood, want %d", got, want)
	}
	clock.advance(time.Hour)
	attacker.kid = "one more"
	if _, err := v.VerifyToken(t.Context(), sign(t, attacker, iss.claims("s1"))); reasonOf(err) != ReasonUnknownKey {
		t.Errorf("got %v, want unknown-key", err)
	}
	if got, want := iss.jwksHits.Load(), int64(2); got != want {
		t.Errorf("JWKS fetched %d times after the interval, want %d", got, want)
	}
	if _, err := v.VerifyToken(t.Context(), valid); err != nil {
		t.Errorf("a valid token after the flood: %v", err)
	}
}

// TestKeysUnavailable: when the issuer's keys cannot be fetched, a token is
// refused as unavailable, not as the caller's fault.
func TestKeysUnavailable(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	key := newKey(t, "k")
	iss.publish(key)
	iss.setBroken(true)
	v, clock := newVerifier(t, iss, Config{MinRefreshInterval: time.Minute})
	token := sign(t, key, iss.claims("s1"))
	_, err := v.VerifyToken(t.Context(), token)
	if got, want := reasonOf(err), ReasonKeysUnavailable; got != want {
		t.Fatalf("got %v, want %v", err, want)
	}
	if got, want := ReasonKeysUnavailable.Code(), uint32(codeUnavailable); got != want {
		t.Errorf("code %d, want %d", got, want)
	}
	if strings.Contains(err.Error(), "maintenance") || strings.Contains(err.Error(), "500") {
		t.Errorf("message %q repeats the issuer's answer", err)
	}
	iss.setBroken(false)
	clock.advance(time.Minute)
	if _, err := v.VerifyToken(t.Context(), token); err != nil {
		t.Errorf("once the keys are back: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	tests := []struct {
		name string
		cfg  Config
		says string
	}{
		{"http off loopback", Config{Issuer: "http://idp.example", Audiences: []string{"a"}}, "http is accepted on loopback only"},
		{"other scheme", Config{Issuer: "ftp://idp.example", Audiences: []string{"a"}}, "scheme must be https"},
		{"relative", Config{Issuer: "idp.example", Audiences: []string{"a"}}, "not an absolute URL"},
		{"no audience", Config{Issuer: iss.url()}, "no audience"},
		{"discovery says another issuer", Config{Issuer: strings.Replace(iss.url(), "127.0.0.1", "localhost", 1), Audiences: []string{"a"}}, "discover"},
		{"no discovery", Config{Issuer: iss.url() + "/nothing", Audiences: []string{"a"}}, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := New(t.Context(), tt.cfg)
			if err == nil {
				v.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %q, want it to say %q", err, tt.says)
			}
		})
	}
}

func TestAuthorID(t *testing.T) {
	t.Parallel()
	a := AuthorID(nil, "https://idp.example", "alice")
	if len(a) != 22 || strings.Trim(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("author ID %q is not 22 base64url characters", a)
	}
	others := []string{
		AuthorID(nil, "https://idp.example", "bob"),
		AuthorID(nil, "https://other.example", "alice"),
		AuthorID(nil, "https://idp.examplea", "lice"),
		AuthorID([]byte("secret"), "https://idp.example", "alice"),
	}
	if got := AuthorID(nil, "https://idp.example", "alice"); got != a {
		t.Errorf("not stable: %q, then %q", a, got)
	}
	// Notes kept in JetStream carry author IDs: they may never change.
	for key, want := range map[string]string{"": "egNEhnbfrivNVddmSN4IUw", "secret": "aWCHf9iP21aEfMsp3OsU6A"} {
		if got := AuthorID([]byte(key), "https://idp.example", "alice"); got != want {
			t.Errorf("AuthorID with key %q = %q, want %q, as every earlier version made it", key, got, want)
		}
	}
	for _, o := range others {
		if o == a {
			t.Errorf("%q shared by two identities", o)
		}
	}
}

func reasonOf(err error) Reason {
	var refused *Error
	if errors.As(err, &refused) {
		return refused.Reason
	}
	return 0
}
