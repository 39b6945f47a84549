package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/server/geo"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/transport"
)

// notesService implements NotesService over the store RouteChat uses.
type notesService struct {
	guide *routeGuide // whose notes these are
}

var _ notesv1connect.NotesServiceHandler = (*notesService)(nil)

func (s *notesService) PostNote(ctx context.Context, req *notesv1.PostNoteRequest) (*notesv1.PostNoteResponse, error) {
	if info, ok := connect.CallInfoForServerContext(ctx); ok {
		if key := info.RequestHeader().Values(IdempotencyKeyHeader); len(key) > 0 {
			if len(key) > 1 {
				return nil, connect.Errorf(connect.CodeInvalidArgument, "%s header: sent %d times, want once", IdempotencyKeyHeader, len(key))
			}
			if err := notes.CheckIdempotencyKey(key[0]); err != nil {
				return nil, connect.Errorf(connect.CodeInvalidArgument, "%s header %v", IdempotencyKeyHeader, err).WithCause(err)
			}
			ctx = notes.WithIdempotencyKey(ctx, key[0])
		}
	}
	replies, err := s.guide.addNote(ctx, s.guide.callerOf(ctx), req.GetNote())
	if err != nil {
		return nil, err
	}
	res := &notesv1.PostNoteResponse{
		Notes:   make([]*routeguide.RouteNote, len(replies)),
		Authors: make([]*notesv1.Author, len(replies)),
	}
	for i, r := range replies {
		res.Notes[i], res.Authors[i] = r.Note, authorOf(r.Author)
	}
	return res, nil
}

// IdempotencyKeyHeader is the request header of a PostNote call that
// names the call, the same in every retry of it (a random UUID per note
// suits): with the notes in JetStream, a note posted again with the same
// key, by the same author, at the same location, with the same text, within
// the stream's duplicate window (2 minutes), is stored once, and the call
// answered as the first was. Without it, a client that resends a call (Go's
// and browsers' HTTP/2 clients do when a proxy refuses a stream that a
// replica died with) may store the note twice.
const IdempotencyKeyHeader = "Idempotency-Key"

func authorOf(a notes.Author) *notesv1.Author {
	if a.Anonymous() {
		return &notesv1.Author{Anonymous: true}
	}
	return &notesv1.Author{DisplayName: a.Name, AuthorId: a.ID}
}

func (s *notesService) WatchNotes(ctx context.Context, req *notesv1.WatchNotesRequest, stream notesv1connect.NotesServiceWatchNotesServerStream) error {
	var opts notes.WatchOptions
	if area := req.GetArea(); area != nil {
		if err := geo.CheckRectangle(area); err != nil {
			return connect.Errorf(connect.CodeInvalidArgument, "area: %v", err).WithCause(err)
		}
		// A watch of the whole world (the stored notes are all within
		// it) is woken with the others of the world, not tested.
		if b := geo.BoundsOf(area); !b.HoldsEveryPoint() {
			opts.Area = &b
		}
	}
	if req.AfterSequence != nil {
		after := req.GetAfterSequence()
		opts.After = &after
		opts.Epoch = req.GetAfterEpoch()
	}
	if info, ok := connect.CallInfoForServerContext(ctx); ok {
		// Its peer's address names the connection: its watchers are
		// woken together, and their notes written in fewer turns of the
		// connection's loop.
		opts.Conn = info.PeerAddr
	}
	admitted, err := s.guide.admitWatch(ctx)
	if err != nil {
		return err
	}
	defer admitted.Release()
	w, err := s.guide.notes.Watch(ctx, opts)
	if errors.Is(err, notes.ErrStaleResume) {
		return connect.Errorf(connect.CodeFailedPrecondition,
			"cannot resume: the notes store began again since after_sequence (now epoch %q): watch again without after_sequence", s.guide.notes.Epoch())
	}
	if err != nil {
		return storeError(ctx, s.guide.logger, err)
	}
	defer w.Close()
	// The call's deadline and the server's drain end the watch here: its
	// context is the stream's, which ends only with the client.
	transport.OnEnd(ctx, func() { w.Cut(errWatchEnded) })
	// The events ready at each wake-up go out in one write, flushed once.
	// The flushes are taken before the headers, which are then flushed at
	// once: a flush coalesced by the transport would keep a timer for its
	// window as long as the watch is open.
	flush := transport.TakeFlushes(ctx)
	// The response headers tell the client that the watch is on: every note
	// stored from now on will come. Without them, a client whose call
	// returns only with the headers would wait for the first note.
	if err := stream.SendHeaders(); err != nil {
		return err
	}
	flush()
	// The sender is made, and the stall watched, from the first event: a
	// watch that is never sent anything holds neither.
	var sender *watchSender
	defer func() {
		if sender != nil {
			sender.close()
		}
	}()
	last := w.Start()
	for {
		ev, err := w.Next(ctx)
		if err == nil {
			if sender == nil {
				sender = newWatchSender(ctx, w.Epoch(), s.guide.limits.MaxMessageBytes)
				s.watchStall(ctx, w)
			}
			var sendErr error
			if last, err, sendErr = sendReady(ctx, stream, sender, flush, w, ev); sendErr != nil {
				return sendErr
			}
		}
		if err != nil {
			if ended := watchEnded(err, s.guide.limits.WatchBuffer, s.guide.limits.WatchStall, last, w.Epoch()); ended != nil {
				if connect.CodeOf(ended) == connect.CodeUnavailable {
					s.guide.logger.WarnContext(ctx, "notes feed ended", "error", err)
				}
				return ended
			}
			return err
		}
	}
}

// sendReady sends ev and every event w has ready after it, flushing after
// each maxWatchBatch and after the last, and returns the sequence of the
// last sent, the error of w that ended the batch, if any, and the error of
// the send that failed, if one did. It looks for the next event before it
// sends one, so that the last is written and flushed as one.
func sendReady(ctx context.Context, stream notesv1connect.NotesServiceWatchNotesServerStream, sender *watchSender,
	flush func(), w *notes.Watcher, ev notes.Event) (last uint64, err, sendErr error) {
	for sent := 1; ; sent++ {
		next, more, err := w.TryNext()
		if err := sender.send(ctx, stream, ev, !more || sent%maxWatchBatch == 0, flush); err != nil {
			return last, nil, err
		}
		last = ev.Seq
		if !more {
			return last, err, nil
		}
		ev = next
	}
}

// watchStall cuts w off from the feed once a write of its stream makes no
// progress for the stall limit, so that it holds no events while its
// client does not take them. The transport times the stall with the watch
// that times every write, so a send pays nothing more for it.
func (s *notesService) watchStall(ctx context.Context, w *notes.Watcher) {
	transport.OnWriteStall(ctx, s.guide.limits.WatchStall, func() {
		w.Cut(notes.ErrStalled)
		// Debug: a client may stall many watches, each cut once.
		s.guide.logger.DebugContext(ctx, "notes watch stalled", "stall", s.guide.limits.WatchStall)
	})
}

// maxWatchBatch is the most events a watch sends in one write: a watch
// that has more ready flushes after every maxWatchBatch, so that its
// client gets the first of a long replay early.
const maxWatchBatch = 64

// storeError turns an error of the notes store into one for the client,
// which learns what it can do but nothing of where the store is; the log
// keeps the details.
func storeError(ctx context.Context, logger *slog.Logger, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // connect gives it its code
	}
	if errors.Is(err, notes.ErrUnavailable) || errors.Is(err, notes.ErrClosed) {
		logger.WarnContext(ctx, "notes store unavailable", "error", err)
		return connect.NewError(connect.CodeUnavailable,
			"the notes store is unavailable: try again shortly, or on another replica")
	}
	logger.ErrorContext(ctx, "notes store", "error", err)
	return connect.NewError(connect.CodeInternal, "the notes store failed")
}

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
