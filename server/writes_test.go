package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/connect/v2/connectproto"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/budget"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// notesProtocols are the protocols NotesService is called with.
var notesProtocols = []struct {
	name    string
	options []connecthttp.Option
}{
	{"connect", nil},
	{"grpc", []connecthttp.Option{connecthttp.WithGRPC()}},
	{"grpcweb", []connecthttp.Option{connecthttp.WithGRPCWeb()}},
}

// notesClient calls NotesService at url with token (none if empty).
func notesClient(url, token string, options ...connecthttp.Option) notesv1connect.NotesServiceClient {
	return notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(
		&bearer{next: routeguidetest.H2CClient(), token: token}, url, options...)))
}

func postNote(ctx context.Context, url, token, message string, lat int32, options ...connecthttp.Option) (*notesv1.PostNoteResponse, error) {
	return notesClient(url, token, options...).PostNote(ctx, &notesv1.PostNoteRequest{
		Note: &routeguide.RouteNote{Location: pt(lat, 7), Message: message}})
}

// TestSignedInWritesRefuseBadTokens: with --writes signed-in, a write
// without a token, or with a bad one, is refused with unauthenticated and a
// message naming the cause, on every protocol; reads need nothing.
func TestSignedInWritesRefuseBadTokens(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	foreign := newTestIssuer(t)
	ts := routeguidetest.NewRouteGuide(t, testFeatures, iss.identityOption(t, server.WritesSignedIn))

	expired := iss.claims("alice", "Alice")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	wrongAudience := iss.claims("alice", "Alice")
	wrongAudience["aud"] = "someone-else"
	// A valid token whose claims are swapped for others: the signature no
	// longer verifies.
	good, other := iss.token(t, "alice", "Alice"), iss.token(t, "mod", "Mod", "moderator")
	goodParts, otherParts := strings.Split(good, "."), strings.Split(other, ".")
	tampered := goodParts[0] + "." + otherParts[1] + "." + goodParts[2]

	cases := []struct {
		name, token, wantInMessage string
	}{
		{"missing", "", "needs a bearer token: sign in at " + iss.srv.URL},
		{"expired", iss.sign(t, expired), "expired"},
		{"foreign issuer", foreign.token(t, "alice", "Alice"), "issued by \"" + foreign.srv.URL},
		{"wrong audience", iss.sign(t, wrongAudience), "for audience"},
		{"tampered", tampered, "signature does not verify"},
		{"malformed", "not-a-jwt", "not a signed JWT"},
	}
	for _, p := range notesProtocols {
		for _, tc := range cases {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				_, err := postNote(t.Context(), ts.URL, tc.token, "hello", 1, p.options...)
				wantCode(t, err, connect.CodeUnauthenticated, tc.wantInMessage)
			})
		}
	}
	t.Run("routechat/missing", func(t *testing.T) {
		t.Parallel()
		c := routeguidetest.Must(client.New(ts.URL, client.WithProtocol(client.ProtocolGRPC)))
		_, err := chatOnce(t.Context(), c, &routeguide.RouteNote{Location: pt(1, 7), Message: "hi"})
		wantCode(t, err, connect.CodeUnauthenticated, "needs a bearer token")
	})
	t.Run("reads need nothing", func(t *testing.T) {
		t.Parallel()
		c := routeguidetest.Must(client.New(ts.URL))
		if _, err := c.GetFeature(t.Context(), pt(409146138, -746188906)); err != nil {
			t.Fatalf("GetFeature without a token: %v", err)
		}
		stream, err := notesClient(ts.URL, "").WatchNotes(t.Context(), &notesv1.WatchNotesRequest{})
		if err != nil {
			t.Fatalf("WatchNotes without a token: %v", err)
		}
		stream.Close()
	})
	t.Run("bad token on a read", func(t *testing.T) {
		t.Parallel()
		c := routeguidetest.Must(client.New(ts.URL, client.WithToken(iss.sign(t, expired))))
		_, err := c.GetFeature(t.Context(), pt(409146138, -746188906))
		wantCode(t, err, connect.CodeUnauthenticated, "expired")
	})
	t.Run("valid token", func(t *testing.T) {
		t.Parallel()
		c := routeguidetest.Must(client.New(ts.URL, client.WithToken(good)))
		if _, err := chatOnce(t.Context(), c, &routeguide.RouteNote{Location: pt(2, 7), Message: "hi"}); err != nil {
			t.Fatalf("RouteChat with a valid token: %v", err)
		}
	})
}

// TestAuthorsAndModeration: a signed-in note names its author in PostNote
// answers and the feed; only a moderator may delete it, and its deletion
// reaches an open feed and the answers at its location.
func TestAuthorsAndModeration(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	ts := routeguidetest.NewRouteGuide(t, testFeatures, iss.identityOption(t, server.WritesAnyone))
	alice, bob, mod := iss.token(t, "alice", "Alice"), iss.token(t, "bob", "Bob"), iss.token(t, "mod", "Mod", "moderator")

	feed, err := notesClient(ts.URL, "").WatchNotes(t.Context(), &notesv1.WatchNotesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()

	res, err := postNote(t.Context(), ts.URL, alice, "by alice", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.GetAuthors()[len(res.GetAuthors())-1].GetDisplayName(), "Alice"; got != want {
		t.Errorf("PostNote names the author %q, want %q", got, want)
	}
	if _, err := postNote(t.Context(), ts.URL, "", "anonymous", 3); err != nil {
		t.Fatal(err)
	}
	first := receiveNote(t, feed)
	if got, want := first.GetAuthor().GetDisplayName(), "Alice"; got != want {
		t.Errorf("feed names the author %q, want %q", got, want)
	}
	if id := first.GetAuthor().GetAuthorId(); id == "" || strings.Contains(id, "alice") {
		t.Errorf("author ID %q: want a non-empty ID that does not reveal the subject", id)
	}
	if !receiveNote(t, feed).GetAuthor().GetAnonymous() {
		t.Error("the note posted without a token is not anonymous in the feed")
	}
	seq := first.GetSequence()

	del := func(token string) error {
		_, err := notesClient(ts.URL, token, connecthttp.WithGRPC()).DeleteNote(t.Context(), &notesv1.DeleteNoteRequest{Sequence: seq})
		return err
	}
	wantCode(t, del(""), connect.CodeUnauthenticated, "needs a bearer token")
	wantCode(t, del(bob), connect.CodePermissionDenied, "only moderators")
	if err := del(mod); err != nil {
		t.Fatalf("moderator's DeleteNote: %v", err)
	}
	if got := receiveNote(t, feed).GetDeletedSequence(); got != seq {
		t.Errorf("feed's next event deletes sequence %d, want %d", got, seq)
	}
	wantCode(t, del(mod), connect.CodeNotFound, "no note has sequence")
	res, err = postNote(t.Context(), ts.URL, "", "after", 3)
	if err != nil {
		t.Fatal(err)
	}
	var messages []string
	for _, n := range res.GetNotes() {
		messages = append(messages, n.GetMessage())
	}
	if diff := cmp.Diff([]string{"anonymous", "after"}, messages); diff != "" {
		t.Errorf("notes at the location after the delete (-want +got):\n%s", diff)
	}
}

// receiveNote returns the next event of feed, failing the test if the feed
// ends.
func receiveNote(t *testing.T, feed notesv1connect.NotesServiceWatchNotesClientStream) *notesv1.WatchNotesResponse {
	t.Helper()
	res, err := feed.Receive()
	if err != nil {
		t.Fatalf("feed ended: %v", err)
	}
	return res
}

// TestWriteBudgetFlood: a client that floods PostNote is refused with
// resource_exhausted and a RetryInfo, over gRPC and as HTTP 429 over
// Connect; a RouteChat stream over budget ends with the same; a note posted
// before the flood is still there, and refused notes are not stored.
func TestWriteBudgetFlood(t *testing.T) {
	t.Parallel()
	const burst = 5
	store := notes.NewMemory(limits.Limits{MaxNotesPerLocation: 100, MaxStoredNoteBytes: 1 << 20})
	ts := routeguidetest.NewRouteGuide(t, testFeatures, server.WithNotesStore(store), server.WithWriteBudget(
		budget.NewLocal(budget.LocalConfig{Policy: budget.Policy{Rate: 1, Burst: burst}})))
	if _, err := postNote(t.Context(), ts.URL, "", "posted before the flood", 4); err != nil {
		t.Fatal(err)
	}
	var err error
	accepted := 1
	for range 100 {
		if _, err = postNote(t.Context(), ts.URL, "", "flood", 5, connecthttp.WithGRPC()); err != nil {
			break
		}
		accepted++
	}
	if accepted != burst {
		t.Errorf("accepted %d notes before the first refusal, want the burst, %d", accepted, burst)
	}
	wantCode(t, err, connect.CodeResourceExhausted, "try again in")
	var cerr *connect.Error
	if !errors.As(err, &cerr) || len(cerr.Details()) != 1 {
		t.Fatalf("refusal %v: want one detail, a RetryInfo", err)
	}
	detail, derr := connectproto.UnmarshalErrorDetail(cerr.Details()[0])
	if info, ok := detail.(*errdetails.RetryInfo); derr != nil || !ok || info.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("detail %v (%v): want a RetryInfo with a positive delay", detail, derr)
	}

	// Connect: HTTP 429, the detail in the JSON error.
	body := `{"note":{"location":{"latitude":5,"longitude":7},"message":"flood"}}`
	resp, err := http.Post(ts.URL+notesv1connect.NotesServicePostNoteProcedure, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var jerr struct {
		Code    string `json:"code"`
		Details []struct {
			Type string `json:"type"`
		} `json:"details"`
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&jerr); err != nil || resp.StatusCode != http.StatusTooManyRequests ||
		jerr.Code != "resource_exhausted" || len(jerr.Details) != 1 || jerr.Details[0].Type != "google.rpc.RetryInfo" {
		t.Errorf("Connect answer: HTTP %d %s; want 429 with code resource_exhausted and a google.rpc.RetryInfo detail", resp.StatusCode, raw)
	}

	// RouteChat: the stream ends with the refusal.
	c := routeguidetest.Must(client.New(ts.URL, client.WithProtocol(client.ProtocolGRPC)))
	_, err = chatOnce(t.Context(), c, &routeguide.RouteNote{Location: pt(5, 7), Message: "flood"})
	wantCode(t, err, connect.CodeResourceExhausted, "try again in")

	// The note from before is there; nothing refused was stored.
	after := uint64(0)
	feed, err := notesClient(ts.URL, "").WatchNotes(t.Context(), &notesv1.WatchNotesRequest{AfterSequence: &after})
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	var got []string
	for range accepted {
		got = append(got, receiveNote(t, feed).GetNote().GetMessage())
	}
	want := []string{"posted before the flood", "flood", "flood", "flood", "flood"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored notes (-want +got):\n%s", diff)
	}
	if got := store.Stats().Notes; got != accepted {
		t.Errorf("the store holds %d notes, want the %d accepted", got, accepted)
	}
}
