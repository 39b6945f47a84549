package devidp

import (
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// keyID returns the kid in a JWT's header.
func keyID(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}
