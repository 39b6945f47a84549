package identity

import (
	"errors"
	"strings"
	"testing"
)

// FuzzVerifyToken: whatever a caller sends as a token, the Verifier answers
// with an identity or an *Error with a reason, never a panic; and it accepts
// nothing it was not given signed.
func FuzzVerifyToken(f *testing.F) {
	iss := newIssuer(f)
	key := newKey(f, "k")
	iss.publish(key)
	v, _ := newVerifier(f, iss, Config{MinRefreshInterval: 1 << 62})
	valid := sign(f, key, iss.claims("s1"))
	f.Add(valid)
	f.Add(strings.Replace(valid, ".", "..", 1))
	f.Add(valid[:len(valid)-3])
	f.Add(hmacToken(f, iss.claims("s1")))
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.VerifyToken(t.Context(), token)
		if err == nil {
			if token != valid {
				t.Fatalf("accepted %q as %+v", token, id)
			}
			return
		}
		var refused *Error
		if !errors.As(err, &refused) || refused.Reason.String() == "" || refused.Reason < ReasonMissing {
			t.Fatalf("error %v is no *Error with a reason", err)
		}
	})
}
