package identity

import (
	"testing"
)

// BenchmarkVerify is the cost of verifying one call's token with the keys
// cached, from the header on: ES256 and RS256, the common algorithms.
func BenchmarkVerify(b *testing.B) {
	iss := newIssuer(b)
	for _, key := range []signingKey{newKey(b, "es"), newRSAKey("rs")} {
		b.Run(string(key.alg), func(b *testing.B) {
			iss.publish(key)
			v, _ := newVerifier(b, iss, Config{})
			claims := iss.claims("s1")
			claims["name"] = "Ada Lovelace"
			claims["roles"] = []string{"moderator"}
			header := bearer(sign(b, key, claims))
			if _, err := v.Verify(b.Context(), header); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(b.Context(), header); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefuseExpired is the cost of refusing an expired token, which
// needs no signature check.
func BenchmarkRefuseExpired(b *testing.B) {
	iss := newIssuer(b)
	key := newKey(b, "es")
	iss.publish(key)
	v, _ := newVerifier(b, iss, Config{})
	claims := iss.claims("s1")
	claims["exp"] = int64(1)
	header := bearer(sign(b, key, claims))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), header); err == nil {
			b.Fatal("accepted")
		}
	}
}
