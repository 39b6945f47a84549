package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	notesv1 "github.com/routeguide/routeguide/bench/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// config is what one measurement does.
type config struct {
	watchers   int                   // WatchNotes streams open during the load
	conns      int                   // connections they are spread over; 0: one per 200 streams
	rate       float64               // notes posted per second, from one client
	duration   time.Duration         // the load with watchers
	baseline   time.Duration         // the same posts and probes before any watcher, for comparison
	area       *routeguide.Rectangle // what each watcher watches; nil: the world
	areaText   string                // area as -area gives it
	noteBytes  int                   // the length of each note's text
	probeEvery time.Duration         // the pause between GetFeature probes
}

// result is one measurement of one server.
type result struct {
	server   string
	watchers int
	run      int // from 0

	basePost, baseProbe quantiles // with no watcher open

	idlePerWatcher float64 // bytes of server RSS per open watcher, before any note

	elapsed    time.Duration
	posts      int64
	deliveries int64 // notes received by watchers during the load
	delivered  float64
	cutOff     int64 // watchers whose stream ended with an error
	cpu        time.Duration
	// runQueueWait is how long the server's threads waited for a CPU while
	// runnable during the load, and toolCPU the watchers' CPU time in this
	// process (the poster's is its own): on a shared machine, whether the
	// server or the load tool was short of CPU.
	runQueueWait, toolCPU time.Duration
	delay                 quantiles // from the poster's send to a watcher's receipt
	post                  quantiles
	probe                 quantiles
}

type quantiles struct{ p50, p99 time.Duration }

func quantilesOf(h *histogram) quantiles {
	return quantiles{h.quantile(0.5), h.quantile(0.99)}
}

// dial opens a grpc-go connection to addr over h2c.
func dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	return grpc.NewClient("passthrough:///"+addr, opts...)
}

// measure loads s as cfg says: posts and probes with no watcher, then
// opens the watchers, then posts and probes for cfg.duration while the
// watchers read.
func measure(ctx context.Context, s *server, cfg config) (result, error) {
	r := result{server: s.name, watchers: cfg.watchers}
	base, err := postPhase(ctx, s.addr, cfg, cfg.baseline, 1)
	if err != nil {
		return r, fmt.Errorf("baseline: %w", err)
	}
	r.basePost, r.baseProbe = quantiles{base.Post[0], base.Post[1]}, quantiles{base.Probe[0], base.Probe[1]}

	before, err := s.settledRSS(ctx, 10*time.Second)
	if err != nil {
		return r, err
	}
	ws, err := openWatchers(ctx, s.addr, cfg.watchers, cfg.conns, &notesv1.WatchNotesRequest{Area: cfg.area})
	if err != nil {
		return r, err
	}
	defer ws.close()
	after, err := s.settledRSS(ctx, 10*time.Second)
	if err != nil {
		return r, err
	}
	r.idlePerWatcher = float64(after-before) / float64(cfg.watchers)

	cpu0, err := s.cpuTime()
	if err != nil {
		return r, err
	}
	wait0, err := s.runQueueWait()
	if err != nil {
		return r, err
	}
	self0, err := selfCPU()
	if err != nil {
		return r, err
	}
	runtime.GC() // see toolHeap
	d0 := ws.deliveries.Load()
	ws.recording.Store(true)
	start := time.Now()
	// The load's notes are at locations of their own, after the baseline's.
	load, err := postPhase(ctx, s.addr, cfg, cfg.duration, 1_000_000)
	if err != nil {
		return r, err
	}
	r.elapsed = time.Since(start)
	cpu1, err := s.cpuTime()
	if err != nil {
		return r, err
	}
	wait1, err := s.runQueueWait()
	if err != nil {
		return r, err
	}
	self1, err := selfCPU()
	if err != nil {
		return r, err
	}
	r.deliveries = ws.deliveries.Load() - d0
	ws.recording.Store(false)
	r.runQueueWait, r.toolCPU = wait1-wait0, self1-self0
	r.posts, r.cpu = load.Posts, cpu1-cpu0
	r.delay = quantilesOf(&ws.delays)
	r.post, r.probe = quantiles{load.Post[0], load.Post[1]}, quantiles{load.Probe[0], load.Probe[1]}

	// Give the last notes 5 s to arrive, to tell late from lost.
	want := d0 + r.posts*int64(cfg.watchers)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for giveUp := time.Now().Add(5 * time.Second); ws.deliveries.Load() < want && time.Now().Before(giveUp); {
		<-tick.C
	}
	if want > d0 {
		r.delivered = float64(ws.deliveries.Load()-d0) / float64(want-d0)
	}
	r.cutOff = ws.failed.Load()
	return r, nil
}

// runPhase posts at cfg.rate and probes GetFeature for d, and returns the
// notes posted. The calls run under ctx and a timeout of their own, not
// the phase's: a call that the phase's end would cut off could then be
// ended by the server's copy of the deadline a moment before the client's,
// an error indistinguishable from a real one. So a phase may overrun d by
// a call in progress.
func runPhase(ctx context.Context, p *poster, probeConn *grpc.ClientConn, cfg config, d time.Duration, post, probe *histogram) (int64, error) {
	const callTimeout = 30 * time.Second
	end := time.Now().Add(d)
	var posts int64
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			case <-tick.C:
			}
			if time.Now().After(end) {
				errs <- nil
				return
			}
			start := time.Now()
			callCtx, cancel := context.WithTimeout(ctx, callTimeout)
			err := p.post(callCtx)
			cancel()
			if err != nil {
				errs <- fmt.Errorf("PostNote: %w", err)
				return
			}
			post.record(time.Since(start))
			posts++
		}
	})
	wg.Go(func() {
		point := &routeguide.Point{Latitude: 409146138, Longitude: -746188906} // a feature of the embedded dataset
		feature := new(routeguide.Feature)
		for time.Now().Before(end) {
			start := time.Now()
			callCtx, cancel := context.WithTimeout(ctx, callTimeout)
			err := probeConn.Invoke(callCtx, "/routeguide.RouteGuide/GetFeature", point, feature)
			cancel()
			if err != nil {
				errs <- fmt.Errorf("GetFeature: %w", err)
				return
			}
			probe.record(time.Since(start))
			select {
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			case <-time.After(cfg.probeEvery):
			}
		}
		errs <- nil
	})
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return posts, errors.Join(all...)
}

// poster posts notes, each at a location of its own inside the area, with
// the time it was sent in its text.
type poster struct {
	client    notesv1.NotesServiceClient
	area      *routeguide.Rectangle
	noteBytes int
	n         int32
}

func (p *poster) post(ctx context.Context) error {
	p.n++
	loc := &routeguide.Point{Latitude: 350_000_000 + p.n, Longitude: -1_000_000_000}
	if a := p.area; a != nil {
		lo, hi := min(a.Lo.Latitude, a.Hi.Latitude), max(a.Lo.Latitude, a.Hi.Latitude)
		loc = &routeguide.Point{Latitude: lo + p.n%(hi-lo+1), Longitude: a.Lo.Longitude/2 + a.Hi.Longitude/2}
	}
	text := strconv.FormatInt(time.Now().UnixNano(), 10) + " "
	if pad := p.noteBytes - len(text); pad > 0 {
		text += strings.Repeat("x", pad)
	}
	_, err := p.client.PostNote(ctx, &notesv1.PostNoteRequest{Note: &routeguide.RouteNote{Location: loc, Message: text}})
	return err
}

// watchSet is the open watchers and what they received.
type watchSet struct {
	conns      []*grpc.ClientConn
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	deliveries atomic.Int64
	failed     atomic.Int64
	recording  atomic.Bool // record delays only while the load runs
	delays     histogram
}

// openWatchers opens n WatchNotes streams for req over conns connections
// (one per 200 streams if conns is 0), each answered with its headers, so
// on, before it returns; each stream is read by a goroutine of its own
// until close.
func openWatchers(ctx context.Context, addr string, n, conns int, req *notesv1.WatchNotesRequest) (*watchSet, error) {
	ws, clients, err := dialWatchers(ctx, addr, n, conns)
	if err != nil {
		return nil, err
	}
	ctx, ws.cancel = context.WithCancel(ctx)
	err = forEachParallel(n, func(i int) error {
		stream, err := clients[i%len(clients)].WatchNotes(ctx, req)
		if err != nil {
			return err
		}
		if _, err := stream.Header(); err != nil {
			return err
		}
		ws.wg.Go(func() { ws.read(ctx, stream) })
		return nil
	})
	if err != nil {
		ws.close()
		return nil, fmt.Errorf("open watchers: %w", err)
	}
	return ws, nil
}

func dialWatchers(ctx context.Context, addr string, n, conns int, opts ...grpc.DialOption) (*watchSet, []notesv1.NotesServiceClient, error) {
	if conns <= 0 {
		conns = (n + 199) / 200
	}
	ws := &watchSet{cancel: func() {}}
	var clients []notesv1.NotesServiceClient
	for range conns {
		conn, err := dial(addr, opts...)
		if err != nil {
			ws.close()
			return nil, nil, err
		}
		ws.conns = append(ws.conns, conn)
		clients = append(clients, notesv1.NewNotesServiceClient(conn))
	}
	return ws, clients, ctx.Err()
}

func (ws *watchSet) read(ctx context.Context, stream grpc.ServerStreamingClient[notesv1.WatchNotesResponse]) {
	res := new(notesv1.WatchNotesResponse)
	for {
		if err := stream.RecvMsg(res); err != nil {
			if ctx.Err() == nil && status.Code(err) != codes.Canceled {
				ws.failed.Add(1)
			}
			return
		}
		ws.deliveries.Add(1)
		if !ws.recording.Load() {
			continue
		}
		text := res.GetNote().GetMessage()
		if i := strings.IndexByte(text, ' '); i > 0 {
			if sent, err := strconv.ParseInt(text[:i], 10, 64); err == nil {
				ws.delays.record(time.Since(time.Unix(0, sent)))
			}
		}
	}
}

// close ends every stream and connection and waits for the readers.
func (ws *watchSet) close() {
	ws.cancel()
	for _, c := range ws.conns {
		c.Close()
	}
	ws.wg.Wait()
}

// forEachParallel calls f for 0..n-1 from 32 goroutines, and returns the
// first error.
func forEachParallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
