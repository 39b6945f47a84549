package identity

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Reason says why a bearer token was refused. Its String form is a short
// kebab-case name, stable for metrics labels and logs.
type Reason int

// The reasons a token is refused.
const (
	// ReasonMissing: the call carries no Authorization header where one is
	// required.
	ReasonMissing Reason = iota + 1
	// ReasonMalformed: the header is not "Bearer <token>", or the token is
	// not a compact JWS whose payload is a JSON object with the claims this
	// package needs (iss, sub, aud, exp).
	ReasonMalformed
	// ReasonAlgorithm: the token is signed with an algorithm the issuer does
	// not advertise, such as "none" or "HS256".
	ReasonAlgorithm
	// ReasonExpired: the token's exp has passed.
	ReasonExpired
	// ReasonNotYetValid: the token's nbf is in the future.
	ReasonNotYetValid
	// ReasonWrongIssuer: the token's iss is not the configured issuer.
	ReasonWrongIssuer
	// ReasonWrongAudience: none of the token's aud is a configured audience.
	ReasonWrongAudience
	// ReasonBadSignature: the token names a key the issuer publishes, but
	// its signature does not verify with it: it was altered.
	ReasonBadSignature
	// ReasonUnknownKey: the token names a key the issuer does not publish,
	// even after the keys were fetched again (or were fetched too recently
	// to fetch again; see [Config.MinRefreshInterval]).
	ReasonUnknownKey
	// ReasonKeysUnavailable: the issuer's keys could not be fetched. The
	// fault is the server's or the issuer's, not the caller's.
	ReasonKeysUnavailable
)

var reasonNames = [...]string{
	ReasonMissing:         "missing",
	ReasonMalformed:       "malformed",
	ReasonAlgorithm:       "algorithm",
	ReasonExpired:         "expired",
	ReasonNotYetValid:     "not-yet-valid",
	ReasonWrongIssuer:     "wrong-issuer",
	ReasonWrongAudience:   "wrong-audience",
	ReasonBadSignature:    "bad-signature",
	ReasonUnknownKey:      "unknown-key",
	ReasonKeysUnavailable: "keys-unavailable",
}

func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// gRPC status codes, which connect.Code shares.
const (
	codeUnavailable     = 14
	codeUnauthenticated = 16
)

// Code is the gRPC status code a call refused for r ends with, as a number
// that connect.Code (v1 or v2) and grpc's codes.Code share: unauthenticated
// (16) for every reason but [ReasonKeysUnavailable], which is unavailable
// (14) because the caller's token may well be good. Convert it with
// connect.Code(reason.Code()).
func (r Reason) Code() uint32 {
	if r == ReasonKeysUnavailable {
		return codeUnavailable
	}
	return codeUnauthenticated
}

// Error is the error of a refused token. Its message is meant for the
// caller: it says which check failed and how to get a token that passes,
// and quotes what the caller sent only in short, escaped form.
type Error struct {
	Reason Reason
	msg    string
}

func (e *Error) Error() string {
	return e.msg
}

func refuse(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, msg: fmt.Sprintf(format, args...)}
}

// maxQuoted is the most bytes of a caller's value an error message repeats.
const maxQuoted = 64

// quote returns s quoted for an error message, cut to maxQuoted bytes on a
// rune boundary.
func quote(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

var errNotANumber = errors.New("not a number")
