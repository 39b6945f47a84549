package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes is the longest display name an Identity carries; a longer
// one is cut on a character boundary.
const MaxNameBytes = 64

// AuthorID returns the author ID of subject at issuer: the first 16 bytes
// of SHA-256 (HMAC-SHA-256 if key is set) of both, in unpadded base64url, 22
// characters. It is the same for the same caller on every replica and across
// restarts; it does not reveal the subject, though without a key anyone who
// guesses the issuer and subject can confirm the guess.
func AuthorID(key []byte, issuer, subject string) string {
	// The lengths keep ("ab", "c") and ("a", "bc") apart.
	msg := make([]byte, 0, 16+len(issuer)+len(subject))
	msg = appendLengthPrefixed(msg, issuer)
	msg = appendLengthPrefixed(msg, subject)
	var sum []byte
	if len(key) > 0 {
		mac := hmac.New(sha256.New, key)
		mac.Write(msg)
		sum = mac.Sum(nil)
	} else {
		s := sha256.Sum256(append([]byte("routeguide author id\x00"), msg...))
		sum = s[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func appendLengthPrefixed(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint64(b, uint64(len(s))), s...)
}

// displayName is the first of names that is not blank once cleaned.
func displayName(names ...string) string {
	for _, n := range names {
		if n = cleanName(n); n != "" {
			return n
		}
	}
	return ""
}

// cleanName drops control and format characters (bidi overrides among
// them) and invalid UTF-8, trims spaces and cuts to MaxNameBytes.
func cleanName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > MaxNameBytes {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// hasRole reports whether the claim named name, in claims, lists role. The
// claim is a list of strings or one string; a name with dots that is no
// top-level claim is a path into nested objects.
func hasRole(claims map[string]json.RawMessage, name, role string) bool {
	raw, ok := claims[name]
	if !ok {
		path := strings.Split(name, ".")
		if len(path) < 2 {
			return false
		}
		if raw, ok = claims[path[0]]; !ok {
			return false
		}
		for _, step := range path[1:] {
			var obj map[string]json.RawMessage
			if json.Unmarshal(raw, &obj) != nil {
				return false
			}
			if raw, ok = obj[step]; !ok {
				return false
			}
		}
	}
	var roles stringList
	return json.Unmarshal(raw, &roles) == nil && slices.Contains(roles, role)
}

// numericDate reads a JWT NumericDate: seconds since the epoch, possibly
// with a fraction.
func numericDate(n *json.Number) (time.Time, error) {
	if s, err := n.Int64(); err == nil {
		return time.Unix(s, 0), nil
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return time.Time{}, errNotANumber
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
