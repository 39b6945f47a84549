package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect/v2"
	"google.golang.org/protobuf/types/known/timestamppb"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/observe"
	"github.com/routeguide/routeguide/server/transport"
	"github.com/routeguide/routeguide/server/transport/prepared"
)

// watchSender sends the events of one watch. Every watcher of an event
// sends the same bytes, so the first to send it in a codec encodes it and
// the others write what it encoded: a note reaching N watchers is encoded
// once per codec, not N times. What is kept is the whole frame, the
// message in its envelope, which is the same in every protocol a watch
// can use (gRPC, gRPC-Web, Connect) while it is not compressed: the
// watchers after the first write it straight to their streams
// ([transport.Direct]), past connect-go's envelope, codec and flush, which
// cost more than net/http's write under them (BENCHMARKS.md, "Watchers and
// fan-out: round four").
type watchSender struct {
	// The fields a direct send reads come first, in one cache line: a
	// watcher's objects are cold when a delivery wakes it, and each line
	// it touches costs a miss (BENCHMARKS.md, "Watchers and fan-out: round
	// six").

	// direct writes frames past connect-go, if direct is set; a frame
	// whose message is up to directMax bytes may be written so.
	direct    transport.Direct
	hasDirect bool
	directMax int
	// key is the cache key of the encoding in codec, the codec last
	// asked for: a stream keeps one codec, so the key is made once.
	key string
	// directSent counts the frames written directly, and lastSize is the
	// size of the last message sent, if it was one of them (-1 if not):
	// both are handed to the call's observers as the watch ends, which is
	// when they read them, rather than touched at every send.
	directSent int
	lastSize   int

	// res and the messages in it are reused for every event, so that a
	// delivery allocates nothing: Send encodes before it returns.
	res    *notesv1.WatchNotesResponse
	posted *timestamppb.Timestamp
	author *notesv1.Author
	slot   *prepared.Slot
	encode prepared.Encoder // s.encoded, made once: a method value allocates
	epoch  string
	ev     notes.Event // the event being sent
	codec  string

	info  *connect.CallInfo // its SendStats are made true at close
	sends observe.Sends
}

// newWatchSender returns a sender for a watcher of the store's epoch, on
// the stream of ctx, whose messages are at most maxBytes. The caller must
// call close once it sends no more.
func newWatchSender(ctx context.Context, epoch string, maxBytes int) *watchSender {
	s := &watchSender{res: &notesv1.WatchNotesResponse{}, posted: &timestamppb.Timestamp{}, author: &notesv1.Author{}, epoch: epoch, lastSize: -1}
	s.slot = prepared.Attach(s.res)
	s.encode = s.encoded
	s.slot.Set(s.encode)
	info, ok := connect.CallInfoForServerContext(ctx)
	if !ok {
		return s
	}
	s.direct, s.hasDirect = transport.DirectOf(ctx)
	s.info, s.sends = info, observe.SendsOf(ctx)
	s.codec, s.key = info.Codec, watchKey(info.Codec, epoch)
	// connect-go compresses a message, when the client accepts the
	// response's compression, if it has compressMinBytes or more
	// (MessageOptions): a frame written past it must be what it would
	// have written.
	s.directMax = maxBytes
	if info.ResponseEncoding != "" && info.ResponseEncoding != connect.CompressionNameIdentity {
		s.directMax = min(maxBytes, compressMinBytes-1)
	}
	return s
}

// encoded returns the event's bytes in codec, encoding them only if no
// other watcher has. The epoch is part of the key: it is part of the
// bytes, and a watcher of another life of the store has another. The
// event keeps the message in its envelope, for [watchSender.frame].
func (s *watchSender) encoded(codec string, marshal func() ([]byte, error)) ([]byte, error) {
	if codec != s.codec {
		s.codec, s.key = codec, watchKey(codec, s.epoch)
	}
	frame, err := s.ev.Encoded(s.key, func() ([]byte, error) {
		data, err := marshal()
		if err != nil {
			return nil, err
		}
		return framed(data), nil
	})
	if err != nil {
		return nil, err
	}
	return frame[envelopePrefix:], nil
}

// watchKeys holds one copy of each cache key of an event's encoding that
// watchers use, a codec and an epoch: every watcher of an event compares
// its key with those the event was encoded under, and two copies of one
// string compare by their bytes, a cache line of each watcher's own that a
// delivery to a thousand watchers misses a thousand times, where one copy
// compares by its pointer. There are few keys: the server's codecs, for
// each life of the store; maxWatchKeys bounds them even so. A watch asks
// once, at its first event.
var watchKeys struct {
	sync.Mutex
	keys map[string]string
}

const maxWatchKeys = 64

// watchKey returns the cache key of codec's encoding of an event of the
// store's life epoch, the same string for every watcher.
func watchKey(codec, epoch string) string {
	key := codec + "\x00" + epoch
	watchKeys.Lock()
	defer watchKeys.Unlock()
	if k, ok := watchKeys.keys[key]; ok {
		return k
	}
	if watchKeys.keys == nil || len(watchKeys.keys) >= maxWatchKeys {
		watchKeys.keys = make(map[string]string)
	}
	watchKeys.keys[key] = key
	return key
}

// envelopePrefix is the length of a message's envelope in gRPC, gRPC-Web
// and Connect's streams: a byte of flags, then the message's length in 4
// bytes, big-endian.
const envelopePrefix = 5

// framed returns data in an uncompressed message's envelope.
func framed(data []byte) []byte {
	frame := make([]byte, envelopePrefix+len(data))
	binary.BigEndian.PutUint32(frame[1:envelopePrefix], uint32(len(data)))
	copy(frame[envelopePrefix:], data)
	return frame
}

// send sends ev on stream, and flushes it with what was sent before if
// flushNow says so, with flush: it writes the frame another watcher
// encoded, if there is one and connect-go would have written the same
// bytes, and sends it through connect-go otherwise, which encodes it.
func (s *watchSender) send(ctx context.Context, stream notesv1connect.NotesServiceWatchNotesServerStream, ev notes.Event,
	flushNow bool, flush func()) error {
	frame, ok := s.frame(ev)
	if !ok {
		s.lastSize = -1 // connect-go keeps SendStats itself
		if err := stream.Send(s.message(ev)); err != nil {
			return err
		}
		if flushNow {
			flush()
		}
		return nil
	}
	var err error
	if flushNow {
		_, err = s.direct.WriteAndFlush(frame)
	} else {
		_, err = s.direct.Write(frame)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the interceptor gives it its code
		}
		return connect.NewError(connect.CodeUnknown, "write envelope: "+err.Error()).WithCause(err)
	}
	s.directSent++
	s.lastSize = len(frame) - envelopePrefix
	return nil
}

// frame returns ev's frame, if the stream may be written directly, another
// watcher has encoded the event in the stream's codec, and connect-go would
// not compress it.
func (s *watchSender) frame(ev notes.Event) ([]byte, bool) {
	if !s.hasDirect || !ev.Shared() {
		return nil, false
	}
	frame, ok := ev.Cached(s.key)
	return frame, ok && len(frame)-envelopePrefix <= s.directMax
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

// close lets go of the sender's messages, and tells the call's observers
// of the frames written directly: how many, and the last one's size if it
// was the last message sent.
func (s *watchSender) close() {
	s.sends.Add(s.directSent)
	if s.lastSize >= 0 && s.info != nil {
		s.info.SendStats = connect.MessageStats{Size: s.lastSize}
	}
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
			"this watch fell more than %d notes behind the notes this replica delivered, not reading them, "+
				"so it was cut off: read as notes come; %s", buffer, resume)
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
