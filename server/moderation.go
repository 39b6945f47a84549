package server

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect/v2"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/server/notes"
)

// DeleteNote removes a note, for moderators only: the store tells every
// watcher on every replica that it is gone. Each delete is an audit record
// at info.
func (s *notesService) DeleteNote(ctx context.Context, req *notesv1.DeleteNoteRequest) (*notesv1.DeleteNoteResponse, error) {
	id := identityOf(ctx)
	switch {
	case id == nil:
		// With identity on, the outer layer has refused a call without a
		// token already; this is a server that verifies none.
		return nil, connect.NewError(connect.CodeUnauthenticated,
			"deleting a note needs a moderator's bearer token, and this server verifies none: its operator must start it with --auth-issuer")
	case !id.Moderator:
		s.guide.metrics.WriteRefused("not_moderator")
		return nil, connect.NewError(connect.CodePermissionDenied,
			"only moderators may delete notes: this token's roles do not include moderator")
	}
	if req.GetSequence() == 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, "sequence: give the sequence of the note to delete, as WatchNotes names it")
	}
	gone, err := s.guide.notes.Delete(ctx, req.GetSequence())
	if errors.Is(err, notes.ErrNotFound) {
		return nil, connect.Errorf(connect.CodeNotFound,
			"no note has sequence %d: it was never stored, or was evicted or deleted already", req.GetSequence())
	}
	if err != nil {
		return nil, storeError(ctx, s.guide.logger, err)
	}
	loc := gone.Note.GetLocation()
	s.guide.logger.InfoContext(ctx, "note deleted",
		"moderator", id.AuthorID, "moderator_name", id.Name,
		"sequence", gone.Seq, "latitude", loc.GetLatitude(), "longitude", loc.GetLongitude(),
		"author", gone.Author.ID, "posted", gone.Time.UTC().Format(time.RFC3339Nano),
		"deleted", time.Now().UTC().Format(time.RFC3339Nano))
	return &notesv1.DeleteNoteResponse{Note: gone.Note, Author: authorOf(gone.Author)}, nil
}
