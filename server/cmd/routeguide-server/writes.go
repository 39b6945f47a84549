package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/browser"
	"github.com/routeguide/routeguide/server/budget"
	"github.com/routeguide/routeguide/server/clientaddr"
	"github.com/routeguide/routeguide/server/identity"
	"github.com/routeguide/routeguide/server/notes"
)

// writesFlags are the flags that say who may write, and how much, and how
// the browser page signs its users in.
type writesFlags struct {
	identity     identity.Config
	authorKey    string // --author-id-key-file
	pageClientID string
	writes       server.Writes
	policy       budget.Policy
	trusted      *clientaddr.Trusted
}

func addWritesFlags(flags *flag.FlagSet) *writesFlags {
	w := &writesFlags{}
	flags.StringVar(&w.identity.Issuer, "auth-issuer", "",
		"OpenID Connect issuer `URL` whose bearer tokens identify callers (https, or http on loopback); "+
			"needs --auth-audience (default: none, every caller anonymous)")
	flags.Func("auth-audience", "client `ID` a token's aud must name; repeatable or comma-separated", func(v string) error {
		w.identity.Audiences = append(w.identity.Audiences, splitList(v)...)
		return nil
	})
	flags.StringVar(&w.identity.RolesClaim, "auth-roles-claim", "roles",
		"token `claim` listing the caller's roles; a dotted path such as realm_access.roles reaches into objects; "+
			"the role moderator may delete notes")
	flags.StringVar(&w.authorKey, "author-id-key-file", "",
		"`file` holding a secret of at least 16 bytes that keys author IDs (HMAC-SHA-256), so that an author ID "+
			"cannot confirm a guessed subject; the same on every replica and for as long as notes are kept "+
			"(default: none, author IDs are a plain SHA-256 of issuer and subject)")
	// Its default is the client ID that devidp and the cluster's provider
	// register for the page.
	flags.StringVar(&w.pageClientID, "auth-client-id", "routeguide-web",
		"OpenID Connect `client_id` the browser page signs in as with --auth-issuer: a public client "+
			"registered there with the page's URL as a redirect URI")
	flags.Func("writes", "who may post notes: anyone or signed-in (default anyone)", func(v string) error {
		switch v {
		case "anyone":
			w.writes = server.WritesAnyone
		case "signed-in":
			w.writes = server.WritesSignedIn
		default:
			return errors.New("want anyone or signed-in")
		}
		return nil
	})
	flags.IntVar(&w.policy.Rate, "write-rate", budget.DefaultRate,
		"notes a `minute` each client may post once its burst is spent (by author when signed in, else by address)")
	flags.IntVar(&w.policy.Burst, "write-burst", budget.DefaultBurst, "notes each client may post at once")
	flags.Func("trusted-proxies", "`CIDR`s of proxies whose PROXY protocol v2 header or X-Forwarded-For "+
		"names the client; comma-separated (default: none)", func(v string) error {
		t, err := clientaddr.ParseTrusted(w.trusted.String(), v)
		if err == nil {
			w.trusted = t
		}
		return err
	})
	return w
}

// check reports what the flags cannot check one at a time.
func (w *writesFlags) check(setting func(flagName string) string) error {
	if w.policy.Rate <= 0 {
		return fmt.Errorf("%s %d: must be positive", setting("write-rate"), w.policy.Rate)
	}
	if w.policy.Burst <= 0 {
		return fmt.Errorf("%s %d: must be positive", setting("write-burst"), w.policy.Burst)
	}
	if w.identity.Issuer == "" {
		if w.authorKey != "" {
			return fmt.Errorf("%s needs %s: only signed-in callers have author IDs", setting("author-id-key-file"), setting("auth-issuer"))
		}
		if w.writes == server.WritesSignedIn {
			return fmt.Errorf("%s signed-in needs %s: without an issuer nobody can sign in", setting("writes"), setting("auth-issuer"))
		}
		if len(w.identity.Audiences) > 0 {
			return fmt.Errorf("%s needs %s", setting("auth-audience"), setting("auth-issuer"))
		}
		return nil
	}
	if len(w.identity.Audiences) == 0 {
		return fmt.Errorf("%s needs %s: the client IDs whose tokens this server accepts", setting("auth-issuer"), setting("auth-audience"))
	}
	if w.authorKey != "" {
		key, err := readSecretFile(w.authorKey)
		if err != nil {
			return fmt.Errorf("%s: %w", setting("author-id-key-file"), err)
		}
		if len(key) < minAuthorKey {
			return fmt.Errorf("%s: %s holds %d bytes, want at least %d: a short key can be guessed like a subject",
				setting("author-id-key-file"), w.authorKey, len(key), minAuthorKey)
		}
		w.identity.AuthorIDKey = []byte(key)
	}
	return nil
}

// minAuthorKey is the shortest key --author-id-key-file takes, in bytes.
const minAuthorKey = 16

// serverOptions returns the options the flags ask for: the page's sign-in,
// a verifier of the issuer's tokens and the write budget, shared by every
// replica through store's NATS when there is a store, else this process's
// own. The caller must call close when the server has stopped.
func (w *writesFlags) serverOptions(ctx context.Context, store *notes.JetStream, setting func(flagName string) string, logger *slog.Logger) (options []server.Option, close func(), err error) {
	close = func() {}
	var b server.WriteBudget = budget.NewLocal(budget.LocalConfig{Policy: w.policy})
	if store != nil {
		var lastUnshared atomic.Int64 // unix nanoseconds of the last warning
		shared, err := budget.OpenShared(ctx, store.Conn(), budget.SharedConfig{
			Policy: w.policy,
			// As many copies as the notes: a budget kept on one node
			// would be decided by each replica alone while that node is
			// down, tripling a client's budget behind three replicas.
			Replicas: store.Replicas(),
			Unshared: func(err error) {
				// Every write of an outage would log: once in a while says as much.
				if now := time.Now().UnixNano(); now-lastUnshared.Load() > int64(10*time.Second) {
					lastUnshared.Store(now)
					logger.Warn("write budgets not shared: this replica decides alone until NATS is back", "error", err)
				}
			},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("write budgets on %s: %w", setting("notes"), err)
		}
		b = shared
	}
	options = []server.Option{server.WithWriteBudget(b), server.WithTrustedProxies(w.trusted), w.pageSignIn()}
	if w.identity.Issuer == "" {
		return options, close, nil
	}
	v, err := identity.New(ctx, w.identity)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", setting("auth-issuer"), err)
	}
	return append(options, server.WithIdentity(v, w.writes)), v.Close, nil
}

// pageSignIn tells the browser page how its users sign in: at --auth-issuer,
// as --auth-client-id, and whether --writes needs it. Without an issuer the
// page offers no sign-in.
func (w *writesFlags) pageSignIn() server.Option {
	return server.WithPageSignIn(browser.SignIn{Issuer: w.identity.Issuer, ClientID: w.pageClientID,
		WritesNeedSignIn: w.writes == server.WritesSignedIn})
}
