package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// sample is one measured run against one server.
type sample struct {
	rate     float64       // operations (requests, messages or points) a second
	p50, p99 time.Duration // latency of a call, or of a reply for RouteChat
	cpuPerOp time.Duration // server CPU time per operation
	rss      int64         // server resident memory after the run

	writesPerOp float64 // the server's write system calls per operation, sockets and log alike
}

// measure runs load against p and fills in the server's CPU per operation
// and memory. load returns how many operations it completed.
func measure(p *process, load func() (ops float64, s sample, err error)) (sample, error) {
	before, err := p.cpuTime()
	if err != nil {
		return sample{}, err
	}
	writesBefore, err := p.writeCalls()
	if err != nil {
		return sample{}, err
	}
	ops, s, err := load()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", p.name, err)
	}
	after, err := p.cpuTime()
	if err != nil {
		return sample{}, err
	}
	writesAfter, err := p.writeCalls()
	if err != nil {
		return sample{}, err
	}
	if ops > 0 {
		s.cpuPerOp = time.Duration(float64(after-before) / ops)
		s.writesPerOp = float64(writesAfter-writesBefore) / ops
	}
	s.rss, err = p.rss()
	return s, err
}

// h2loadLoad describes an h2load run: one prebuilt request body posted
// over and over.
type h2loadLoad struct {
	path        string
	contentType string
	headers     []string
	body        []byte
	conns       int
	streams     int
	perResponse float64 // operations a response counts for, e.g. its messages
}

var h2loadSummary = regexp.MustCompile(`requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed`)

// runH2load drives the server at url for d and reports operations a second
// and the latency of each request, from h2load's per-request log.
func runH2load(ctx context.Context, dir, url string, l h2loadLoad, d time.Duration) (float64, sample, error) {
	bodyFile := filepath.Join(dir, "body.bin")
	logFile := filepath.Join(dir, "h2load.log")
	if err := os.WriteFile(bodyFile, l.body, 0o644); err != nil {
		return 0, sample{}, err
	}
	args := []string{
		"-c", strconv.Itoa(l.conns), "-m", strconv.Itoa(l.streams),
		"-D", strconv.Itoa(int(d.Seconds())), "-d", bodyFile, "--log-file", logFile,
		"-H", "content-type: " + l.contentType,
	}
	for _, h := range l.headers {
		args = append(args, "-H", h)
	}
	out, err := exec.CommandContext(ctx, "h2load", append(args, url+l.path)...).CombinedOutput()
	if err != nil {
		return 0, sample{}, fmt.Errorf("h2load: %w\n%s", err, out)
	}
	m := h2loadSummary.FindSubmatch(out)
	if m == nil {
		return 0, sample{}, fmt.Errorf("h2load: no summary in\n%s", out)
	}
	succeeded, _ := strconv.ParseFloat(string(m[3]), 64)
	if failed, _ := strconv.Atoi(string(m[4])); failed > 0 || succeeded == 0 {
		return 0, sample{}, fmt.Errorf("h2load: %s succeeded, %s failed\n%s", m[3], m[4], out)
	}
	latencies, err := readH2loadLog(logFile)
	if err != nil {
		return 0, sample{}, err
	}
	ops := succeeded * l.perResponse
	s := sample{rate: ops / d.Seconds()}
	s.p50, s.p99 = percentiles(latencies)
	return ops, s, nil
}

func readH2loadLog(path string) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var latencies []time.Duration
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Split(scanner.Text(), "\t")
		if len(fields) < 3 {
			continue
		}
		us, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("h2load log: %w", err)
		}
		latencies = append(latencies, time.Duration(us)*time.Microsecond)
	}
	return latencies, scanner.Err()
}

func percentiles(latencies []time.Duration) (p50, p99 time.Duration) {
	if len(latencies) == 0 {
		return 0, 0
	}
	slices.Sort(latencies)
	at := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	return at(0.50), at(0.99)
}

// grpcBody is a message in the gRPC and gRPC-Web envelope; connectBody
// marks it as the Connect protocol's streaming envelope does, which is the
// same for a request.
func grpcBody(m proto.Message) []byte {
	data, err := proto.Marshal(m)
	if err != nil {
		panic(err) // the messages are built by the harness
	}
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(data))), data...)
}

func rawBody(m proto.Message) []byte {
	data, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return data
}

// protocolLoad returns the h2load request for a procedure in a protocol.
func protocolLoad(protocol, procedure string, m proto.Message, unary bool) h2loadLoad {
	switch protocol {
	case "grpc":
		return h2loadLoad{path: procedure, contentType: "application/grpc", headers: []string{"te: trailers"}, body: grpcBody(m)}
	case "grpcweb":
		return h2loadLoad{path: procedure, contentType: "application/grpc-web+proto", headers: []string{"x-grpc-web: 1"}, body: grpcBody(m)}
	case "connect":
		if unary {
			return h2loadLoad{path: procedure, contentType: "application/proto", headers: []string{"connect-protocol-version: 1"}, body: rawBody(m)}
		}
		return h2loadLoad{path: procedure, contentType: "application/connect+proto", headers: []string{"connect-protocol-version: 1"}, body: grpcBody(m)}
	}
	panic("unknown protocol " + protocol)
}

// ghzResult is the part of ghz's JSON report the harness reads.
type ghzResult struct {
	Count               float64 `json:"count"`
	RPS                 float64 `json:"rps"`
	LatencyDistribution []struct {
		Percentage int           `json:"percentage"`
		Latency    time.Duration `json:"latency"`
	} `json:"latencyDistribution"`
	ErrorDistribution map[string]int `json:"errorDistribution"`
}

// runGhz drives GetFeature with ghz, grpc-go's own client: the gRPC user's
// view.
func runGhz(ctx context.Context, ghz, protoDir, addr string, p *routeguide.Point, workers int, d time.Duration) (float64, sample, error) {
	data, err := json.Marshal(map[string]int32{"latitude": p.GetLatitude(), "longitude": p.GetLongitude()})
	if err != nil {
		return 0, sample{}, err
	}
	out, err := exec.CommandContext(ctx, ghz, "--insecure",
		"--proto", filepath.Join(protoDir, "routeguide", "route_guide.proto"), "--import-paths", protoDir,
		"--call", "routeguide.RouteGuide.GetFeature", "-d", string(data),
		"-c", strconv.Itoa(workers), "--connections", "1", "-z", d.String(), "-O", "json", addr).Output()
	if err != nil {
		return 0, sample{}, fmt.Errorf("ghz: %w\n%s", err, out)
	}
	var r ghzResult
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, sample{}, fmt.Errorf("ghz output: %w", err)
	}
	// Calls in flight when the time is up are cancelled by ghz itself,
	// about one a worker; anything else is a real failure. ghz can report
	// one call under both of its closing errors (65 with 64 workers was
	// seen), so allow twice as many.
	cut := 0
	for e, count := range r.ErrorDistribution {
		if !strings.Contains(e, "is closing") {
			return 0, sample{}, fmt.Errorf("ghz: errors %v", r.ErrorDistribution)
		}
		cut += count
	}
	if cut > 2*workers {
		return 0, sample{}, fmt.Errorf("ghz: errors %v", r.ErrorDistribution)
	}
	s := sample{rate: r.RPS}
	for _, l := range r.LatencyDistribution {
		switch l.Percentage {
		case 50:
			s.p50 = l.Latency
		case 99:
			s.p99 = l.Latency
		}
	}
	return r.Count, s, nil
}

// runRecordRoute sends routes of route's points on streams concurrent
// calls for d, over gRPC, and reports points a second.
func runRecordRoute(ctx context.Context, url string, route []*routeguide.Point, streams int, d time.Duration) (float64, sample, error) {
	c, err := client.New(url, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return 0, sample{}, err
	}
	return runCalls(ctx, streams, d, func(ctx context.Context) (float64, error) {
		summary, err := c.RecordRoute(ctx, slices.Values(route))
		if err != nil {
			return 0, err
		}
		if int(summary.GetPointCount()) != len(route) {
			return 0, fmt.Errorf("RecordRoute counted %d points, sent %d", summary.GetPointCount(), len(route))
		}
		return float64(len(route)), nil
	})
}

// runCalls makes call on workers goroutines until d has passed and
// reports operations a second and the latency of a call.
func runCalls(ctx context.Context, workers int, d time.Duration, call func(context.Context) (float64, error)) (float64, sample, error) {
	deadline := time.Now().Add(d)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		ops       float64
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var mine []time.Duration
			var n float64
			for time.Now().Before(deadline) {
				t := time.Now()
				k, err := call(ctx)
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
				n += k
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			ops += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, sample{}, firstErr
	}
	s := sample{rate: ops / time.Since(start).Seconds()}
	s.p50, s.p99 = percentiles(latencies)
	return ops, s, nil
}

func cmpOr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// runRouteChat keeps streams chats busy for d, each sending notes at
// locations of its own (so each note has one reply) while reading replies,
// and reports replies a second.
func runRouteChat(ctx context.Context, url string, streams int, d time.Duration) (float64, sample, error) {
	c, err := client.New(url, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return 0, sample{}, err
	}
	var replies atomic.Int64
	var chatID atomic.Int32
	ctx, cancel := context.WithTimeout(ctx, d+10*time.Second)
	defer cancel()
	deadline := time.Now().Add(d)
	errs := make(chan error, 2*streams)
	var wg sync.WaitGroup
	start := time.Now()
	for range streams {
		id := chatID.Add(1) + 1000
		chat := c.RouteChat(ctx)
		wg.Go(func() {
			seq := int32(0)
			for time.Now().Before(deadline) {
				seq++
				note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: id, Longitude: seq}, Message: "bench"}
				if err := chat.Send(note); err != nil {
					errs <- err
					return
				}
			}
			errs <- chat.CloseSend()
		})
		wg.Go(func() {
			for {
				_, err := chat.Receive()
				if errors.Is(err, io.EOF) {
					errs <- nil
					return
				}
				if err != nil {
					errs <- err
					return
				}
				replies.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, sample{}, err
		}
	}
	n := float64(replies.Load())
	return n, sample{rate: n / time.Since(start).Seconds()}, nil
}

// runPingPong sends one note at a time on a single chat and waits for its
// reply: the latency of a lone message, which coalesced flushes must not
// hold back.
func runPingPong(ctx context.Context, url string, count int) (float64, sample, error) {
	c, err := client.New(url, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return 0, sample{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chat := c.RouteChat(ctx)
	latencies := make([]time.Duration, 0, count)
	start := time.Now()
	base := int32(time.Now().UnixNano() % 1e6)
	for i := range count {
		t := time.Now()
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: -base, Longitude: int32(i)}, Message: "ping"}
		if err := chat.Send(note); err != nil {
			return 0, sample{}, err
		}
		if _, err := chat.Receive(); err != nil {
			return 0, sample{}, err
		}
		latencies = append(latencies, time.Since(t))
	}
	chat.CloseSend()
	s := sample{rate: float64(count) / time.Since(start).Seconds()}
	s.p50, s.p99 = percentiles(latencies)
	return float64(count), s, nil
}

// idleChatMemory opens count chats, each sending a note and reading its
// reply, and reports the server's memory per open chat.
func idleChatMemory(ctx context.Context, p *process, count int) (int64, error) {
	c, err := client.New(p.url(), client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return 0, err
	}
	time.Sleep(500 * time.Millisecond)
	before, err := p.rss()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chats := make([]*client.Chat, count)
	for i := range chats {
		chats[i] = c.RouteChat(ctx)
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: 7_000_000, Longitude: int32(i)}, Message: "idle"}
		if err := chats[i].Send(note); err != nil {
			return 0, fmt.Errorf("chat %d: %w", i, err)
		}
		if _, err := chats[i].Receive(); err != nil {
			return 0, fmt.Errorf("chat %d: %w", i, err)
		}
	}
	time.Sleep(time.Second)
	after, err := p.rss()
	if err != nil {
		return 0, err
	}
	for _, chat := range chats {
		chat.CloseSend()
	}
	return (after - before) / int64(count), nil
}
