package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	notesv1 "github.com/routeguide/routeguide/bench/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/internal/sched"
)

// fanOutKept is how many notes the floor's hub keeps for replays, the
// default replay limit of routeguide-server and the reference server.
const fanOutKept = 1000

// fanOut is the floor of a fan-out on net/http: NotesService's PostNote
// and WatchNotes with nothing but what the wire needs. PostNote builds the
// note's gRPC frame once and wakes every watcher; each watcher's handler
// writes the frames it has not sent, the same bytes for all, and flushes
// once. It has no areas (every watcher gets every note), one epoch and one
// author for every note, no store but the last fanOutLog frames, and no
// bound on a watcher that does not read but the stream's flow control: the
// least any handler on net/http's HTTP/2 server could do per delivery. Watchers
// read the log without a lock, so that a thousand woken at once do not
// queue for one.
type fanOut struct {
	mu  sync.Mutex                // serializes posts
	log atomic.Pointer[fanOutLog] // replaced by every post
	// waves says whether watchers are woken in waves; groups counts the
	// watchers of each wake group.
	waves  bool
	groups [floorGroups]atomic.Int32
	// joinMu protects conns, the connections with watchers: with waves,
	// as routeguide-server's feed does (server/notes/wakegroups.go), a
	// connection's watchers wait in groups kept for them, so that a wave
	// writes to few connections.
	joinMu sync.Mutex
	conns  map[string]*floorConn
}

// floorConn is a connection's watchers: how many, and the group its next
// one joins, or -1.
type floorConn struct {
	n     int
	group int
}

// With waves, the floor wakes its watchers as routeguide-server's feed
// does (server/notes/livelog.go): the first floorYields groups of up to
// floorWave watchers one after the other, stepping aside once a group's
// worth are woken, then groups of up to floorRestWave, stepping aside so
// too, and past floorRestGroups of those the rest at once; a group holds
// the watchers of one connection. Woken all at once, a
// thousand watchers queue the poster's answer behind the whole fan-out
// (PostNote p50 about 15× its value with no watchers, where the issue's
// goal is 2×), and ten thousand a read behind 150 ms of deliveries (where
// the goal for GetFeature's p99 is 20 ms): the waves are the least a
// handler on net/http does to meet those goals while it fans out, and
// what they cost is part of the floor of that work. It steps aside as the
// feed does, on the network poller (internal/sched), so that a read
// waits for a wave rather than for Go's scheduler to poll the network.
const (
	floorWave       = 16
	floorYields     = 4
	floorRestWave   = 128
	floorRestGroups = 256
	floorGroups     = floorYields + floorRestGroups + 1
)

// fanOutLog is the log as of one post; it never changes once published.
type fanOutLog struct {
	frames [][]byte // the newest frames, oldest first; frames[0] has sequence first
	first  uint64   // sequence of frames[0]; the first note's is 1
	// posted has a channel per wake group, closed when the next note is
	// posted. Without waves, every watcher is in the last.
	posted [floorGroups]chan struct{}
}

func newFanOut(waves bool) *fanOut {
	h := &fanOut{waves: waves, conns: make(map[string]*floorConn)}
	h.log.Store(&fanOutLog{first: 1, posted: h.newPosted()})
	return h
}

// newPosted returns the channels of a new log: one for each wake group
// with watchers, and the last group's, which every watcher joins without
// waves and the rest join past the waves' groups (see join): a note makes
// as many channels as there are waves, as routeguide-server's feed does,
// not one for every group there could be. A group made since has one in a
// copy of the log (see roomFor).
func (h *fanOut) newPosted() (posted [floorGroups]chan struct{}) {
	for g := range posted {
		if g == floorGroups-1 || h.groups[g].Load() > 0 {
			posted[g] = make(chan struct{})
		}
	}
	return posted
}

// join returns the wake group of a new watcher on connection conn, which
// must leave it when it ends: if the floor wakes in waves, the group
// kept for the connection, or if that is full the first of the waves'
// groups with no watcher; else, or if none is free, the last.
func (h *fanOut) join(conn string) int {
	const last = floorGroups - 1
	if !h.waves {
		h.groups[last].Add(1)
		return last
	}
	h.joinMu.Lock()
	defer h.joinMu.Unlock()
	c := h.conns[conn]
	if c == nil {
		c = &floorConn{group: -1}
		h.conns[conn] = c
	}
	c.n++
	if c.group < 0 || h.groups[c.group].Load() >= floorGroupSize(c.group) {
		c.group = h.freeGroup()
	}
	if c.group < 0 {
		h.groups[last].Add(1)
		return last
	}
	h.groups[c.group].Add(1)
	return c.group
}

// freeGroup returns the first of the waves' groups with no watcher, or
// -1. The caller holds joinMu.
func (h *fanOut) freeGroup() int {
	for g := range floorGroups - 1 {
		if h.groups[g].Load() == 0 {
			return g
		}
	}
	return -1
}

func floorGroupSize(g int) int32 {
	if g < floorYields {
		return floorWave
	}
	return floorRestWave
}

// leave takes a watcher of conn out of group.
func (h *fanOut) leave(conn string, group int) {
	if !h.waves {
		h.groups[group].Add(-1)
		return
	}
	h.joinMu.Lock()
	defer h.joinMu.Unlock()
	c := h.conns[conn]
	if h.groups[group].Add(-1) == 0 && c.group == group {
		c.group = -1
	}
	c.n--
	if c.n == 0 {
		delete(h.conns, conn)
	}
}

// post adds the frame of the next note, made by frame from its sequence,
// and wakes every watcher: at once, or in waves after it returns.
func (h *fanOut) post(frame func(seq uint64) ([]byte, error)) error {
	old, err := h.append(frame)
	if err != nil {
		return err
	}
	if !h.waves {
		for _, posted := range old.posted {
			if posted != nil {
				close(posted)
			}
		}
		return nil
	}
	// On a goroutine of its own, as routeguide-server's feed does, so
	// that the poster answers while the waves step aside. A group kept
	// for a connection may hold a few watchers, so the waves count them.
	go func() {
		woken := int32(0)
		for g, posted := range old.posted {
			if posted == nil {
				continue
			}
			close(posted)
			if g == floorGroups-1 {
				continue
			}
			woken += h.groups[g].Load()
			if woken >= floorGroupSize(g) {
				sched.StepAside()
				woken = 0
			}
		}
	}()
	return nil
}

// append publishes the log with the frame of the next note, made by frame
// from its sequence, and returns the log before it, whose watchers are
// still to wake.
func (h *fanOut) append(frame func(seq uint64) ([]byte, error)) (*fanOutLog, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.log.Load()
	f, err := frame(old.first + uint64(len(old.frames)))
	if err != nil {
		return nil, err
	}
	next := &fanOutLog{frames: old.frames, first: old.first, posted: h.newPosted()}
	if len(next.frames) == 2*fanOutKept {
		// Copy what is kept: watchers may be reading the old array.
		next.frames = append([][]byte(nil), next.frames[fanOutKept:]...)
		next.first += fanOutKept
	}
	// Appending writes past every published log's length, where no
	// watcher reads.
	next.frames = append(next.frames, f)
	h.log.Store(next)
	return old, nil
}

// roomFor publishes the log again with a channel for group, if it has
// none, as routeguide-server's feed does (liveLog.withRoom): else the
// watchers of the groups made since the last post, a crowd that came
// between two, would wait on the last group's channel and wake at once,
// outside the waves.
func (h *fanOut) roomFor(group int) {
	if !h.waves {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.log.Load()
	if l.posted[group] != nil {
		return
	}
	again := *l
	again.posted[group] = make(chan struct{})
	h.log.Store(&again)
}

// since returns the frames of the notes after sequence after (at most
// fanOutKept of them), the sequence of the last, and the channel of wake
// group closed when the next note is posted.
func (h *fanOut) since(after uint64, group int) (frames [][]byte, last uint64, next <-chan struct{}) {
	l := h.log.Load()
	last = l.first + uint64(len(l.frames)) - 1
	from := max(after+1, l.first, last+1-min(last, fanOutKept))
	if from <= last {
		frames = l.frames[from-l.first : last+1-l.first]
	}
	next = l.posted[group]
	if next == nil { // not after roomFor; a guard against waiting forever
		next = l.posted[floorGroups-1]
	}
	return frames, last, next
}

// floorEpoch names the floor's one life. It has the length of
// routeguide-server's memory store's epochs ("m" and 16 characters): every
// note the floor sends carries it and an anonymous author, as the server's
// do, so that both write the same bytes for a note.
const floorEpoch = "f0000000000000000"

// postNote answers PostNote with an empty response once the note's frame
// is in the log.
func (h *fanOut) postNote(w http.ResponseWriter, r *http.Request) {
	req := new(notesv1.PostNoteRequest)
	if err := readRequest(r, req); err != nil {
		fail(w, err)
		return
	}
	note := req.GetNote()
	err := h.post(func(seq uint64) ([]byte, error) {
		return envelope(&notesv1.WatchNotesResponse{Note: note, Sequence: seq, PostedTime: timestamppb.Now(),
			Epoch: floorEpoch, Author: &notesv1.Author{Anonymous: true}})
	})
	if err != nil {
		fail(w, err)
		return
	}
	w.Header()["Content-Type"] = []string{"application/grpc"}
	w.Write(emptyFrame)
	w.Header()[http.TrailerPrefix+"Grpc-Status"] = []string{"0"}
}

// watchNotes sends every note posted from now on, after those the request's
// after_sequence asks to replay, one write and one flush each time it
// wakes.
func (h *fanOut) watchNotes(w http.ResponseWriter, r *http.Request) {
	req := new(notesv1.WatchNotesRequest)
	if err := readRequest(r, req); err != nil {
		fail(w, err)
		return
	}
	group := h.join(r.RemoteAddr)
	defer h.leave(r.RemoteAddr, group)
	h.roomFor(group)
	_, last, next := h.since(0, group)
	if req.AfterSequence != nil {
		last = req.GetAfterSequence()
	}
	w.Header()["Content-Type"] = []string{"application/grpc"}
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	flusher.Flush() // the headers: the watch is on
	for {
		var frames [][]byte
		frames, last, next = h.since(last, group)
		for _, f := range frames {
			if _, err := w.Write(f); err != nil {
				return
			}
		}
		if len(frames) > 0 {
			flusher.Flush()
		}
		select {
		case <-next:
		case <-r.Context().Done():
			w.Header()[http.TrailerPrefix+"Grpc-Status"] = []string{"1"} // cancelled
			return
		}
	}
}

// readRequest reads the one enveloped message of a gRPC request into msg.
func readRequest(r *http.Request, msg proto.Message) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(body) < 5 || binary.BigEndian.Uint32(body[1:5]) != uint32(len(body)-5) {
		return errors.New("want one uncompressed gRPC message")
	}
	return proto.Unmarshal(body[5:], msg)
}

// fail answers a request the floor cannot read with INVALID_ARGUMENT.
func fail(w http.ResponseWriter, err error) {
	w.Header()["Content-Type"] = []string{"application/grpc"}
	w.Header()["Grpc-Status"] = []string{"3"}
	w.Header()["Grpc-Message"] = []string{fmt.Sprintf("ceiling-server: %v", err)}
	w.WriteHeader(http.StatusOK)
}

// emptyFrame is the gRPC frame of an empty message.
var emptyFrame = []byte{0, 0, 0, 0, 0}

// serveFanOut adds the floor's NotesService to mux.
func serveFanOut(mux *http.ServeMux, waves bool) {
	h := newFanOut(waves)
	mux.HandleFunc("/routeguide.notes.v1.NotesService/PostNote", h.postNote)
	mux.HandleFunc("/routeguide.notes.v1.NotesService/WatchNotes", h.watchNotes)
}
