package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Identity is who a verified token says its caller is.
type Identity struct {
	// Issuer and Subject are the token's iss and sub: together, the
	// caller's identity at its provider.
	Issuer, Subject string
	// Name is what to show for the caller: the token's name, else its
	// preferred_username, else its sub, without control characters and
	// cut to [MaxNameBytes].
	Name string
	// AuthorID is a stable, non-reversible ID of Issuer and Subject
	// together; see [AuthorID].
	AuthorID string
	// Moderator is whether the token's roles claim lists [ModeratorRole].
	Moderator bool
	// Expiry is when the token stops being valid.
	Expiry time.Time
}

// Verify verifies the bearer token of a call's headers, which are the same
// on gRPC (metadata), gRPC-Web and Connect, over HTTP/1.1 and HTTP/2: the
// Authorization header, "Bearer <token>". A call without one gets an
// [*Error] with [ReasonMissing], which the caller may treat as an anonymous
// call where that is allowed; any other error is an [*Error] too.
func (v *Verifier) Verify(ctx context.Context, header http.Header) (*Identity, error) {
	token, err := v.bearer(header)
	if err != nil {
		return nil, err
	}
	return v.VerifyToken(ctx, token)
}

// bearer returns the token of the Authorization header.
func (v *Verifier) bearer(header http.Header) (string, *Error) {
	values := header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", refuse(ReasonMissing, "this call needs a bearer token: sign in at %s "+
			"and send the token as the header \"Authorization: Bearer <token>\"", v.cfg.Issuer)
	case 1:
	default:
		return "", refuse(ReasonMalformed, "the call has %d Authorization headers; send one, \"Bearer <token>\"", len(values))
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", refuse(ReasonMalformed, "the Authorization header must be \"Bearer <token>\"")
	}
	return strings.TrimSpace(token), nil
}

// claims are the claims a Verifier reads.
type claims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  stringList   `json:"aud"`
	Expiry    *json.Number `json:"exp"`
	NotBefore *json.Number `json:"nbf"`
	Name      string       `json:"name"`
	Username  string       `json:"preferred_username"`
}

// stringList is a claim that is one string or a list of them, as aud.
type stringList []string

func (a *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = stringList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// VerifyToken verifies a bearer token, without its "Bearer " prefix. The
// checks that need no key come first, so that expired and foreign tokens
// cost no signature check and never make the keys be fetched again; a token
// is accepted only once its signature verifies too.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*Identity, error) {
	if token == "" {
		return nil, refuse(ReasonMalformed, "the bearer token is empty")
	}
	if len(token) > MaxTokenBytes {
		return nil, refuse(ReasonMalformed, "the bearer token is %d bytes, more than the %d this server reads", len(token), MaxTokenBytes)
	}
	jws, err := jose.ParseSignedCompact(token, allAlgorithms)
	if err != nil {
		return nil, refuse(ReasonMalformed, "the bearer token is not a signed JWT (header.payload.signature, base64url)")
	}
	alg := jws.Signatures[0].Header.Algorithm
	if !slices.Contains(v.algs, alg) {
		return nil, refuse(ReasonAlgorithm, "the bearer token is signed with %s; %s signs with %s",
			quote(alg), v.cfg.Issuer, strings.Join(v.algs, ", "))
	}
	// Read before the signature is checked, only to refuse early: nothing
	// of it is believed until the signature verifies.
	var c claims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, refuse(ReasonMalformed, "the bearer token's payload is not a JSON object of claims")
	}
	if err := v.checkClaims(&c); err != nil {
		return nil, err
	}
	idToken, err := v.verifier.Verify(ctx, token)
	if err != nil {
		kid := jws.Signatures[0].Header.KeyID
		switch r := v.keys.classify(kid); r {
		case ReasonBadSignature:
			return nil, refuse(r, "the bearer token's signature does not verify: it was altered, or not made by %s", v.cfg.Issuer)
		case ReasonKeysUnavailable:
			return nil, refuse(r, "the server cannot fetch its identity provider's signing keys; try again later")
		default:
			return nil, refuse(r, "the bearer token is signed with key %s, which %s does not publish", quote(kid), v.cfg.Issuer)
		}
	}
	var raw map[string]json.RawMessage
	if err := idToken.Claims(&raw); err != nil {
		return nil, refuse(ReasonMalformed, "the bearer token's payload is not a JSON object of claims")
	}
	expiry, _ := numericDate(c.Expiry)
	return &Identity{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Name:      displayName(c.Name, c.Username, c.Subject),
		AuthorID:  AuthorID(v.cfg.AuthorIDKey, c.Issuer, c.Subject),
		Moderator: hasRole(raw, v.cfg.RolesClaim, ModeratorRole),
		Expiry:    expiry,
	}, nil
}

// checkClaims checks what needs no key: iss, sub, exp, nbf and aud.
func (v *Verifier) checkClaims(c *claims) *Error {
	if c.Issuer != v.cfg.Issuer {
		return refuse(ReasonWrongIssuer, "the bearer token was issued by %s; this server accepts tokens of %s only",
			quote(c.Issuer), v.cfg.Issuer)
	}
	if c.Subject == "" {
		return refuse(ReasonMalformed, "the bearer token has no sub claim")
	}
	now := v.now()
	if c.Expiry == nil {
		return refuse(ReasonMalformed, "the bearer token has no exp claim; this server accepts no token that never expires")
	}
	expiry, err := numericDate(c.Expiry)
	if err != nil {
		return refuse(ReasonMalformed, "the bearer token's exp is not a number of seconds")
	}
	if now.After(expiry.Add(v.cfg.ClockSkew)) {
		return refuse(ReasonExpired, "the bearer token expired at %s; get a new one from %s",
			expiry.UTC().Format(time.RFC3339), v.cfg.Issuer)
	}
	if c.NotBefore != nil {
		notBefore, err := numericDate(c.NotBefore)
		if err != nil {
			return refuse(ReasonMalformed, "the bearer token's nbf is not a number of seconds")
		}
		if now.Add(v.cfg.ClockSkew).Before(notBefore) {
			return refuse(ReasonNotYetValid, "the bearer token is not valid before %s, and the server's clock says %s",
				notBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(v.cfg.Audiences, a) }) {
		return nil
	}
	got := "none"
	if len(c.Audience) > 0 {
		got = quote(strings.Join(c.Audience, ", "))
	}
	return refuse(ReasonWrongAudience, "the bearer token is for audience %s; this server accepts %s",
		got, quote(strings.Join(v.cfg.Audiences, ", ")))
}

// allAlgorithms are the algorithms a token may name and still be parsed, so
// that one signed with another is refused as such rather than as malformed.
var allAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.EdDSA,
	jose.HS256, jose.HS384, jose.HS512,
}
