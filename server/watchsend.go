package server

import (
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect/v2"
	"google.golang.org/protobuf/types/known/timestamppb"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/transport/prepared"
)

// watchSender sends the events of one watch. Every watcher of an event
// sends the same bytes, so the first to send it in a codec encodes it and
// the others write what it encoded: a note reaching N watchers is encoded
// once per codec, not N times.
type watchSender struct {
	// res and the messages in it are reused for every event, so that a
	// delivery allocates nothing: Send encodes before it returns.
	res    *notesv1.WatchNotesResponse
	posted *timestamppb.Timestamp
	author *notesv1.Author
	slot   *prepared.Slot
	encode prepared.Encoder // s.encoded, made once: a method value allocates
	epoch  string
	ev     notes.Event // the event being sent
	// codec and key are the codec last asked for and the cache key of
	// its encoding: a stream keeps one codec, so the key is made once.
	codec, key string
}

// newWatchSender returns a sender for a watcher of the store's epoch. The
// caller must call close once it sends no more.
func newWatchSender(epoch string) *watchSender {
	s := &watchSender{res: &notesv1.WatchNotesResponse{}, posted: &timestamppb.Timestamp{}, author: &notesv1.Author{}, epoch: epoch}
	s.slot = prepared.Attach(s.res)
	s.encode = s.encoded
	s.slot.Set(s.encode)
	return s
}

// encoded returns the event's bytes in codec, encoding them only if no
// other watcher has. The epoch is part of the key: it is part of the
// bytes, and a watcher of another life of the store has another.
func (s *watchSender) encoded(codec string, marshal func() ([]byte, error)) ([]byte, error) {
	if codec != s.codec {
		s.codec, s.key = codec, codec+"\x00"+s.epoch
	}
	return s.ev.Encoded(s.key, marshal)
}

// message returns the response for ev, which Send must be given.
func (s *watchSender) message(ev notes.Event) *notesv1.WatchNotesResponse {
	s.ev = ev
	// An event of one watcher's replay is encoded straight into the
	// stream, with no copy kept.
	if ev.Shared() {
		s.slot.Set(s.encode)
	} else {
		s.slot.Set(nil)
	}
	res := s.res
	s.posted.Seconds, s.posted.Nanos = ev.Time.Unix(), int32(ev.Time.Nanosecond())
	res.Note, res.Sequence, res.PostedTime = ev.Note, ev.Seq, s.posted
	res.DeletedSequence, res.Epoch, res.Author = ev.Deleted, s.epoch, nil
	if ev.Deleted == 0 {
		a := s.author
		if ev.Author.Anonymous() {
			a.Anonymous, a.DisplayName, a.AuthorId = true, "", ""
		} else {
			a.Anonymous, a.DisplayName, a.AuthorId = false, ev.Author.Name, ev.Author.ID
		}
		res.Author = a
	}
	return res
}

func (s *watchSender) close() {
	s.slot.Detach()
	s.ev = notes.Event{}
}

// errWatchEnded cuts off a watch whose call reached its deadline or was
// drained: the transport's interceptor answers it with the code that says
// which.
var errWatchEnded = errors.New("the watch's call ended")

// watchEnded returns what a watch cut off by the store tells its client:
// why, and where to resume from. last is the sequence of the last event
// sent, epoch the store's life it belongs to. It returns nil for an error
// that is not a cut-off.
func watchEnded(err error, buffer int, stall time.Duration, last uint64, epoch string) error {
	resume := fmt.Sprintf("resume with after_sequence=%d and after_epoch=%q", last, epoch)
	switch {
	case errors.Is(err, notes.ErrFeedBehind):
		return connect.Errorf(connect.CodeUnavailable,
			"this replica fell behind the notes store and cut off every watch: %s, here later or on another replica", resume)
	case errors.Is(err, notes.ErrTooSlow):
		return connect.Errorf(connect.CodeResourceExhausted,
			"more than %d notes were waiting to be sent to this watch, which was not reading them, "+
				"so it was cut off rather than hold them: read as notes come, or watch a smaller area; %s", buffer, resume)
	case errors.Is(err, notes.ErrStalled):
		return connect.Errorf(connect.CodeResourceExhausted,
			"this watch took none of the notes sent to it for %v, so it was cut off rather than hold them: "+
				"read as notes come; %s", stall, resume)
	case errors.Is(err, notes.ErrUnavailable), errors.Is(err, notes.ErrClosed):
		return connect.Errorf(connect.CodeUnavailable,
			"the notes store is unavailable on this replica: %s, here later or on another replica", resume)
	}
	return nil
}
