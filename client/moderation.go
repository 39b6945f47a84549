package client

import (
	"context"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
)

// DeleteNote removes the note with sequence seq, as WatchNotes numbers
// notes, from the server's store and from every open feed. Only a
// moderator may: call it on a Client made [WithToken] with a moderator's
// token. It returns the note as it was.
func (c *Client) DeleteNote(ctx context.Context, seq uint64) (*notesv1.DeleteNoteResponse, error) {
	return c.notes.DeleteNote(ctx, &notesv1.DeleteNoteRequest{Sequence: seq})
}
