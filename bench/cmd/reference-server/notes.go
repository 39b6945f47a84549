package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	notesv1 "github.com/routeguide/routeguide/bench/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// hubLimits bound what the notes hub keeps, with routeguide-server's
// defaults so that both servers do the same work for a watcher.
type hubLimits struct {
	buffer      int // notes a watcher may fall behind before it is cut off; default 256
	maxReplay   int // a resuming watcher gets the notes among the last maxReplay sequences; default 1,000
	perLocation int // notes a location keeps for PostNote's answer; default 100
}

// notesHub is NotesService as a grpc-go expert would write it in memory:
// PostNote stores the note and returns; one goroutine fans each note out,
// encoding it once with grpc.PreparedMsg and handing the same bytes to
// every matching watcher's bounded queue, so no poster pays for the
// watchers. A watcher whose queue is full is cut off with
// resource_exhausted rather than slowing the others, as the contract says.
type notesHub struct {
	notesv1.UnimplementedNotesServiceServer
	limits hubLimits
	wake   chan struct{} // holds a token while notes wait to be fanned out

	mu       sync.Mutex // protects everything below
	atLoc    map[locKey][]*routeguide.RouteNote
	log      []*entry // the newest notes, oldest first; log[0] has sequence logStart
	logStart uint64
	next     uint64 // the sequence of the next note posted; the first is 1
	fanned   uint64 // every note before this sequence is in its watchers' queues
	watchers map[*watcher]struct{}
}

type locKey struct{ lat, lng int32 }

// entry is a stored note of the feed. prepared is set once, under the hub's
// mutex, and only read after that.
type entry struct {
	res      *notesv1.WatchNotesResponse
	prepared *grpc.PreparedMsg
}

// watcher is one WatchNotes call.
type watcher struct {
	stream grpc.ServerStream // encodes prepared messages for every watcher: they share one codec
	area   *routeguide.Rectangle
	queue  chan *grpc.PreparedMsg
	cut    chan struct{} // closed when the watcher fell limits.buffer notes behind
}

// hubEpoch names the hub's one life. It has the length of routeguide-server's
// memory store's epochs ("m" and 16 characters): every note the hub sends
// carries it and an anonymous author, as the server's do, so that both write
// the same bytes for a note.
const hubEpoch = "g0000000000000000"

func newNotesHub(limits hubLimits) *notesHub {
	return &notesHub{
		limits:   limits,
		wake:     make(chan struct{}, 1),
		atLoc:    make(map[locKey][]*routeguide.RouteNote),
		logStart: 1,
		next:     1,
		fanned:   1,
		watchers: make(map[*watcher]struct{}),
	}
}

func (h *notesHub) PostNote(_ context.Context, req *notesv1.PostNoteRequest) (*notesv1.PostNoteResponse, error) {
	note := req.GetNote()
	if note.GetLocation() == nil {
		return nil, status.Error(codes.InvalidArgument, "note.location is required")
	}
	key := locKey{note.Location.Latitude, note.Location.Longitude}
	posted := timestamppb.Now()
	h.mu.Lock()
	notes := h.atLoc[key]
	if len(notes) == h.limits.perLocation {
		notes = slices.Delete(notes, 0, 1)
	}
	notes = append(notes, note)
	h.atLoc[key] = notes
	replies := slices.Clone(notes)
	h.log = append(h.log, &entry{res: &notesv1.WatchNotesResponse{Note: note, Sequence: h.next, PostedTime: posted,
		Epoch: hubEpoch, Author: &notesv1.Author{Anonymous: true}}})
	h.next++
	h.trimLocked()
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default: // the fan-out goroutine is already woken
	}
	return &notesv1.PostNoteResponse{Notes: replies}, nil
}

// trimLocked drops the notes no watcher can be replayed or still wait for.
// It copies what it keeps to a new array, so that replays holding a part
// of the old one keep it intact.
func (h *notesHub) trimLocked() {
	if len(h.log) <= 2*h.limits.maxReplay {
		return
	}
	keepFrom := min(h.fanned, h.next-uint64(h.limits.maxReplay))
	if keepFrom <= h.logStart {
		return
	}
	h.log = slices.Clone(h.log[keepFrom-h.logStart:])
	h.logStart = keepFrom
}

// fanOut hands every note posted to its watchers' queues until ctx ends.
func (h *notesHub) fanOut(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		h.mu.Lock()
		for ; h.fanned < h.next; h.fanned++ {
			e := h.log[h.fanned-h.logStart]
			for w := range h.watchers {
				if !contains(w.area, e.res.Note.GetLocation()) {
					continue
				}
				pm, err := h.preparedLocked(e, w.stream)
				if err != nil {
					panic(fmt.Sprintf("encode a note: %v", err)) // a message the server built itself
				}
				select {
				case w.queue <- pm:
				default:
					close(w.cut)
					delete(h.watchers, w)
				}
			}
		}
		h.mu.Unlock()
	}
}

// preparedLocked encodes e once, with the codec of stream, which every
// watcher shares.
func (h *notesHub) preparedLocked(e *entry, stream grpc.ServerStream) (*grpc.PreparedMsg, error) {
	if e.prepared == nil {
		pm := new(grpc.PreparedMsg)
		if err := pm.Encode(stream, e.res); err != nil {
			return nil, err
		}
		e.prepared = pm
	}
	return e.prepared, nil
}

func (h *notesHub) WatchNotes(req *notesv1.WatchNotesRequest, stream grpc.ServerStreamingServer[notesv1.WatchNotesResponse]) error {
	w := &watcher{
		stream: stream,
		area:   req.GetArea(),
		queue:  make(chan *grpc.PreparedMsg, h.limits.buffer),
		cut:    make(chan struct{}),
	}
	if w.area != nil && (w.area.Lo == nil || w.area.Hi == nil) {
		return status.Error(codes.InvalidArgument, "area needs both lo and hi")
	}
	h.mu.Lock()
	var replay []*entry // shares the log's array, never copied per watcher
	if req.AfterSequence != nil {
		from := max(req.GetAfterSequence()+1, h.logStart)
		if h.fanned > uint64(h.limits.maxReplay) {
			from = max(from, h.fanned-uint64(h.limits.maxReplay))
		}
		if from < h.fanned {
			replay = h.log[from-h.logStart : h.fanned-h.logStart : h.fanned-h.logStart]
		}
		for _, e := range replay {
			if _, err := h.preparedLocked(e, stream); err != nil {
				h.mu.Unlock()
				return err
			}
		}
	}
	h.watchers[w] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.watchers, w)
		h.mu.Unlock()
	}()
	// The headers tell the client the watch is on, as routeguide-server's do.
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	for _, e := range replay {
		if !contains(w.area, e.res.Note.GetLocation()) {
			continue
		}
		if err := stream.SendMsg(e.prepared); err != nil {
			return err
		}
	}
	for {
		select {
		case pm := <-w.queue:
			if err := stream.SendMsg(pm); err != nil {
				return err
			}
		case <-w.cut:
			return status.Errorf(codes.ResourceExhausted, "this watcher fell more than %d notes behind and was cut off", h.limits.buffer)
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}

// contains reports whether p lies in area, edges included; a nil area is
// the world.
func contains(area *routeguide.Rectangle, p *routeguide.Point) bool {
	return area == nil || inRange(p, area)
}
