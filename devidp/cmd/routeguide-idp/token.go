package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/routeguide/routeguide/devidp"
)

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("routeguide-idp token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://"+defaultListen, "issuer `URL` of a running routeguide-idp")
	user := fs.String("user", "", "`username` to sign in as (required)")
	password := fs.String("password", "", "the user's `password` (default the built-in user's development password)")
	client := fs.String("client", devidp.CLIClientID, "client `ID` to sign in to")
	redirect := fs.String("redirect-uri", devidp.CLIRedirectURI, "one of the client's redirect `URI`s")
	idToken := fs.Bool("id-token", false, "print the ID token instead of the access token")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *user == "" {
		return errors.New("--user is required: alice, bob or mod, or a user of the provider's --users file")
	}
	if *password == "" {
		for _, u := range devidp.DevUsers() {
			if u.Username == *user {
				*password = u.Password
			}
		}
		if *password == "" {
			return fmt.Errorf("--password is required: %q is not a built-in user", *user)
		}
	}
	tokens, err := devidp.Login{
		Issuer:      *issuer,
		Username:    *user,
		Password:    *password,
		ClientID:    *client,
		RedirectURI: *redirect,
	}.Do(ctx)
	if err != nil {
		return err
	}
	if *idToken {
		fmt.Fprintln(stdout, tokens.IDToken)
		return nil
	}
	fmt.Fprintln(stdout, tokens.AccessToken)
	return nil
}
