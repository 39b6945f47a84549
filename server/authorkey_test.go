package server_test

import (
	"testing"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/identity"
)

// With a key (--author-id-key-file), a note's author ID is the keyed hash
// of its author's issuer and subject: not the plain one, which anyone who
// guesses the subject can compute.
func TestKeyedAuthorIDs(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	key := []byte("a key of thirty-two bytes, fixed")
	v, err := identity.New(t.Context(), identity.Config{Issuer: iss.srv.URL, Audiences: []string{testAudience}, AuthorIDKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	ts := routeguidetest.NewRouteGuide(t, testFeatures, server.WithIdentity(v, server.WritesSignedIn))
	res, err := postNote(t.Context(), ts.URL, iss.token(t, "alice", "Alice"), "keyed", 3)
	if err != nil {
		t.Fatal(err)
	}
	got := res.GetAuthors()[len(res.GetAuthors())-1].GetAuthorId()
	if want := identity.AuthorID(key, iss.srv.URL, "alice"); got != want {
		t.Errorf("author ID %q, want the keyed %q", got, want)
	}
	if plain := identity.AuthorID(nil, iss.srv.URL, "alice"); got == plain {
		t.Errorf("author ID %q is the unkeyed one", got)
	}
}
