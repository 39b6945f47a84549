package devidp

import (
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
)

func TestDiscovery(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{})

	// go-oidc refuses a document whose issuer is not the one asked for.
	if _, err := oidc.NewProvider(t.Context(), issuer); err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}

	type document struct {
		Issuer               string   `json:"issuer"`
		Authorization        string   `json:"authorization_endpoint"`
		Token                string   `json:"token_endpoint"`
		JWKS                 string   `json:"jwks_uri"`
		Userinfo             string   `json:"userinfo_endpoint"`
		ResponseTypes        []string `json:"response_types_supported"`
		CodeChallengeMethods []string `json:"code_challenge_methods_supported"`
		SigningAlgs          []string `json:"id_token_signing_alg_values_supported"`
		Scopes               []string `json:"scopes_supported"`
		GrantTypes           []string `json:"grant_types_supported"`
		Claims               []string `json:"claims_supported"`
	}
	var got document
	getJSON(t, t.Context(), issuer+"/.well-known/openid-configuration", "", &got)
	want := document{
		Issuer:               issuer,
		Authorization:        issuer + "/authorize",
		Token:                issuer + "/oauth/token",
		JWKS:                 issuer + "/keys",
		Userinfo:             issuer + "/userinfo",
		ResponseTypes:        got.ResponseTypes, // zitadel lists all; each client allows code only
		CodeChallengeMethods: []string{"S256"},
		SigningAlgs:          []string{"RS256"},
		Scopes:               []string{"openid", "profile"},
		GrantTypes:           got.GrantTypes,
		Claims:               got.Claims,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery document (-want +got):\n%s", diff)
	}
	for _, claim := range []string{"name", "preferred_username", "roles"} {
		if !slices.Contains(got.Claims, claim) {
			t.Errorf("claims_supported = %v, want it to name %q", got.Claims, claim)
		}
	}
	if !slices.Contains(got.ResponseTypes, "code") {
		t.Errorf("response_types_supported = %v, want it to name code", got.ResponseTypes)
	}
	if !slices.Contains(got.GrantTypes, "authorization_code") || slices.Contains(got.GrantTypes, "refresh_token") {
		t.Errorf("grant_types_supported = %v, want authorization_code and no refresh_token", got.GrantTypes)
	}

	var jwks struct {
		Keys []struct {
			Kid, Kty, Alg, Use string
		} `json:"keys"`
	}
	getJSON(t, t.Context(), want.JWKS, "", &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" || jwks.Keys[0].Use != "sig" || jwks.Keys[0].Kid == "" {
		t.Errorf("JWKS = %+v, want one RSA RS256 signing key with an ID", jwks.Keys)
	}
}
