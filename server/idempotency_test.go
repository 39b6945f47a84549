package server_test

import (
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
)

// TestPostNoteIdempotencyKeyChecked: a key that cannot name a call is
// refused with invalid_argument, saying what a key must be; a good one is
// taken. (That a key stores a resent note
// once is cluster's TestPostNoteResentStoredOnce, through HAProxy and
// JetStream.)
func TestPostNoteIdempotencyKeyChecked(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, testFeatures)
	client := notesv1connect.NewNotesServiceClient(connect.NewClient(
		connecthttp.NewTransport(routeguidetest.H2CClient(), ts.URL, connecthttp.WithGRPC())))
	loc := &routeguide.Point{Latitude: 409146138, Longitude: -746188906}
	for _, tt := range []struct {
		name string
		keys []string
		want string // in the error; "" for none
	}{
		{"long", []string{strings.Repeat("k", 129)}, "Idempotency-Key header is 129 bytes long: want 1 to 128"},
		{"space", []string{"a key"}, "Idempotency-Key header holds a character that is not visible ASCII"},
		{"twice", []string{"a", "b"}, "Idempotency-Key header: sent 2 times, want once"},
		{"good", []string{"3f1c2a9e-0d4b-4b8e-9a53-2f6d1e7c8b90"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, info := connect.NewClientContext(t.Context())
			for _, k := range tt.keys {
				info.RequestHeader().Add(server.IdempotencyKeyHeader, k)
			}
			_, err := client.PostNote(ctx, &notesv1.PostNoteRequest{Note: &routeguide.RouteNote{Location: loc, Message: tt.name}})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("PostNote with a good key: %v", err)
			case tt.want != "" && (connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("PostNote: %v, want invalid_argument: %s", err, tt.want)
			}
		})
	}
}
