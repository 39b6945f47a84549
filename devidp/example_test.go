package devidp_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/routeguide/routeguide/devidp"
)

// A test starts the provider on a loopback port, signs the moderator in
// and verifies the access token as RouteGuide does.
func ExampleToken() {
	ctx := context.Background()
	srv := httptest.NewUnstartedServer(nil)
	p, err := devidp.New(devidp.Config{
		Issuer: "http://" + srv.Listener.Addr().String(), // the port the listener took
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	defer srv.Close()

	token, err := devidp.Token(ctx, p.Issuer(), "mod", "mod-dev-password")
	if err != nil {
		log.Fatal(err)
	}
	provider, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		log.Fatal(err)
	}
	verified, err := provider.Verifier(&oidc.Config{ClientID: "routeguide"}).Verify(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	var claims struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	if err := verified.Claims(&claims); err != nil {
		log.Fatal(err)
	}
	fmt.Println(verified.Subject, claims.Name, claims.Roles)
	// Output: mod Molly Moderator [moderator]
}
