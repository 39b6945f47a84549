package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
)

// newLimitedServer serves testFeatures under l and returns its URL.
func newLimitedServer(t *testing.T, l limits.Limits, options ...server.Option) string {
	t.Helper()
	return routeguidetest.NewRouteGuide(t, testFeatures, append(options, server.WithLimits(l))...).URL
}

// TestNewRefusesConflictingLimits checks that New validates its limits.
func TestNewRefusesConflictingLimits(t *testing.T) {
	t.Parallel()
	_, err := server.New(nil, server.WithLimits(limits.Limits{DefaultTimeout: 2 * time.Hour, MaxTimeout: time.Hour}))
	var conflict *limits.Conflict
	if !errors.As(err, &conflict) {
		t.Errorf("New with a default timeout longer than the largest: %v, want a *limits.Conflict", err)
	}
}

// handlerReturned returns an option that closes the channel it also
// returns when the first call of procedure leaves its handler: for a stream
// the server gave up on, the sign that it did.
func handlerReturned(procedure string) (server.Option, <-chan struct{}) {
	returned := make(chan struct{})
	var once sync.Once
	return server.WithInterceptors(func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			if spec.Procedure == procedure {
				defer once.Do(func() { close(returned) })
			}
			return next(ctx, spec, stream)
		}
	}), returned
}

// waitFor fails the test unless ch closes within a generous bound.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10s", what)
	}
}

func newRawClient(url string, options ...connecthttp.Option) routeguideconnect.RouteGuideClient {
	return routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), url, options...)))
}

// stillServes checks that the server answers a unary call and a chat.
func stillServes(t *testing.T, url string) {
	t.Helper()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFeature(t.Context(), pt(10, 10)); err != nil {
		t.Fatalf("GetFeature afterwards: %v", err)
	}
	if _, err := chat(t, c, []*routeguide.RouteNote{{Location: pt(-1, -1), Message: "ok"}}); err != nil {
		t.Fatalf("RouteChat afterwards: %v", err)
	}
}

func TestRoutePointsCap(t *testing.T) {
	t.Parallel()
	url := newLimitedServer(t, limits.Limits{MaxRoutePoints: 10})
	c, _ := client.New(url)
	route := func(n int) []*routeguide.Point {
		return slices.Repeat([]*routeguide.Point{pt(10, 10)}, n)
	}
	summary, err := c.RecordRoute(t.Context(), slices.Values(route(10)))
	if err != nil || summary.GetPointCount() != 10 {
		t.Fatalf("10 points at a cap of 10 = %v, %v; want a summary", summary, err)
	}
	_, err = c.RecordRoute(t.Context(), slices.Values(route(11)))
	wantCode(t, err, connect.CodeResourceExhausted, "at most 10 points")
	stillServes(t, url)
}

func TestNoteLengthCap(t *testing.T) {
	t.Parallel()
	url := newLimitedServer(t, limits.Limits{MaxNoteBytes: 8})
	c, _ := client.New(url)
	if _, err := chat(t, c, []*routeguide.RouteNote{{Location: pt(1, 2), Message: "12345678"}}); err != nil {
		t.Fatalf("a note of 8 bytes at a cap of 8: %v", err)
	}
	_, err := chat(t, c, []*routeguide.RouteNote{{Location: pt(1, 2), Message: "123456789"}})
	wantCode(t, err, connect.CodeInvalidArgument, "message is 9 bytes long: a note may have at most 8")
	stillServes(t, url)
}

func TestNotesPerLocationCap(t *testing.T) {
	t.Parallel()
	url := newLimitedServer(t, limits.Limits{MaxNotesPerLocation: 3})
	c, _ := client.New(url)
	var notes []*routeguide.RouteNote
	for _, m := range []string{"a", "b", "c", "d", "e"} {
		notes = append(notes, &routeguide.RouteNote{Location: pt(4, 4), Message: m})
	}
	got, err := chat(t, c, notes)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "a", "b", "a", "b", "c", "b", "c", "d", "c", "d", "e"}
	if !slices.Equal(got, want) {
		t.Errorf("replies = %q, want at most the newest 3 each time: %q", got, want)
	}
}

// TestSilentStreamsEnd checks that a stream whose client stops sending ends
// with deadline_exceeded, for both shapes that wait for the client.
func TestSilentStreamsEnd(t *testing.T) {
	t.Parallel()
	const idle = 200 * time.Millisecond
	routeEnded, routeReturned := handlerReturned(routeguideconnect.RouteGuideRecordRouteProcedure)
	url := newLimitedServer(t, limits.Limits{StreamIdleTimeout: idle}, routeEnded)
	rpc := newRawClient(url)

	chatStream := routeguidetest.Must(rpc.RouteChat(t.Context()))
	if err := chatStream.Send(&routeguide.RouteNote{Location: pt(3, 3), Message: "then silence"}); err != nil {
		t.Fatal(err)
	}
	if _, err := chatStream.Receive(); err != nil {
		t.Fatal(err)
	}
	_, err := chatStream.Receive() // waits for the server to give up
	wantCode(t, err, connect.CodeDeadlineExceeded, "sent nothing for 200ms")
	_ = chatStream.Close()

	route := routeguidetest.Must(rpc.RecordRoute(t.Context()))
	if err := route.Send(pt(1, 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, routeReturned, "the silent RecordRoute's handler did not return")
	_, err = route.CloseAndReceive()
	wantCode(t, err, connect.CodeDeadlineExceeded, "sent nothing for 200ms")
	stillServes(t, url)
}

// TestBusyStreamOutlivesIdleTimeout checks that the idle timeout counts
// from the start of the read in progress, not from the first read: a
// stream whose client sends often lives through many idle timeouts. The
// guard's timer, armed by the first read, fires while later reads are in
// progress and must wait for the rest of their time.
func TestBusyStreamOutlivesIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	url := newLimitedServer(t, limits.Limits{StreamIdleTimeout: idle})
	chatStream := routeguidetest.Must(newRawClient(url).RouteChat(t.Context()))
	// A note every idle/10 for 4 idle timeouts.
	for i := range 40 {
		if err := chatStream.Send(&routeguide.RouteNote{Location: pt(5, int32(i)), Message: "busy"}); err != nil {
			t.Fatalf("note %d: %v", i, err)
		}
		if _, err := chatStream.Receive(); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		time.Sleep(idle / 10) // not a wait: the client's pace, its input
	}
	if err := chatStream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := chatStream.Receive(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last note: %v, want the stream to end cleanly", err)
	}
	_ = chatStream.Close()
}

// TestDeadlineCap checks that a stream cannot outlive the server's largest
// deadline, whatever its client asks.
func TestDeadlineCap(t *testing.T) {
	t.Parallel()
	url := newLimitedServer(t, limits.Limits{MaxTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	stream := routeguidetest.Must(newRawClient(url).RouteChat(ctx))
	if err := stream.Send(&routeguide.RouteNote{Location: pt(3, 3), Message: "hello"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Receive(); err != nil {
		t.Fatal(err)
	}
	_, err := stream.Receive()
	wantCode(t, err, connect.CodeDeadlineExceeded, "deadline")
	_ = stream.Close()
}

// TestSlowReaderIsCutOff checks that a ListFeatures stream to a client that
// stops reading is ended once a write makes no progress, instead of holding
// its goroutine and buffers for as long as the client likes.
func TestSlowReaderIsCutOff(t *testing.T) {
	t.Parallel()
	features := make([]*routeguide.Feature, 20_000)
	for i := range features {
		features[i] = &routeguide.Feature{Name: strings.Repeat("n", 200), Location: pt(int32(i), int32(i))}
	}
	listEnded, listReturned := handlerReturned(routeguideconnect.RouteGuideListFeaturesProcedure)
	ts := routeguidetest.NewRouteGuide(t, features, listEnded, server.WithLimits(limits.Limits{WriteTimeout: 200 * time.Millisecond}))
	// A small receive window makes the server's writes block soon after
	// the client stops reading.
	transport := &http.Transport{Protocols: new(http.Protocols), HTTP2: &http.HTTP2Config{
		MaxReceiveBufferPerStream: 64 << 10, MaxReceiveBufferPerConnection: 64 << 10,
	}}
	transport.Protocols.SetUnencryptedHTTP2(true)
	defer transport.CloseIdleConnections()
	rpc := routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(&http.Client{Transport: transport}, ts.URL, connecthttp.WithGRPC())))
	world := &routeguide.Rectangle{Lo: pt(-900_000_000, -1_800_000_000), Hi: pt(900_000_000, 1_800_000_000)}
	stream, err := rpc.ListFeatures(t.Context(), world)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if _, err := stream.Receive(); err != nil {
		t.Fatalf("no first feature: %v", err)
	}
	// The client reads nothing more until the server has given up on it.
	waitFor(t, listReturned, "the stalled ListFeatures's handler did not return")
	received := 1
	var streamErr error
	for streamErr == nil {
		if _, streamErr = stream.Receive(); streamErr == nil {
			received++
		}
	}
	if errors.Is(streamErr, io.EOF) || received == len(features) {
		t.Fatalf("a reader that paused got all %d features (error %v); want the stream cut off", received, streamErr)
	}
	t.Logf("stream cut off after %d of %d features: %v", received, len(features), streamErr)
	stillServes(t, ts.URL)
}

func TestPanicBecomesInternal(t *testing.T) {
	t.Parallel()
	panicky := func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			return next(ctx, spec, unluckyStream{stream})
		}
	}
	quiet := slog.New(slog.DiscardHandler) // the stack would flood the test output
	url := newLimitedServer(t, limits.Limits{}, server.WithLogger(quiet),
		server.WithInterceptors(panicky))
	c, _ := client.New(url)
	_, err := c.GetFeature(t.Context(), pt(13, 0))
	wantCode(t, err, connect.CodeInternal, "internal error")
	if strings.Contains(err.Error(), "unlucky") {
		t.Errorf("the panic's details reached the client: %v", err)
	}
	stillServes(t, url)
}

func TestOversizedMessageEachProtocol(t *testing.T) {
	t.Parallel()
	url := newLimitedServer(t, limits.Limits{MaxMessageBytes: 64 << 10, MaxNoteBytes: 1 << 20, MaxStoredNoteBytes: 8 << 20})
	for _, protocol := range []client.Protocol{client.ProtocolConnect, client.ProtocolGRPC, client.ProtocolGRPCWeb} {
		for _, json := range []bool{false, true} {
			options := []client.Option{client.WithProtocol(protocol)}
			if json {
				options = append(options, client.WithJSON())
			}
			c, _ := client.New(url, options...)
			_, err := chat(t, c, []*routeguide.RouteNote{{Location: pt(1, 1), Message: strings.Repeat("x", 100<<10)}})
			if connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Errorf("%v json=%v: a 100 KiB note at a 64 KiB limit = %v, want resource_exhausted", protocol, json, err)
			}
		}
	}
	stillServes(t, url)
}

// TestGzipBomb sends a small gzip body that inflates to 256 MiB and checks
// that the server refuses it without inflating it. It does not run in
// parallel, so that the allocations it measures are its own.
func TestGzipBomb(t *testing.T) {
	url := newLimitedServer(t, limits.Limits{})
	// Concatenated gzip members inflate to the concatenation of their
	// contents, so one compressed MiB of zeros repeated makes the bomb.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	bomb := bytes.NewBuffer(bytes.Repeat(member.Bytes(), 256))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		url+routeguideconnect.RouteGuideGetFeatureProcedure, bytes.NewReader(bomb.Bytes()))
	req.Header.Set("Content-Type", "application/proto")
	req.Header.Set("Content-Encoding", "gzip")
	res, err := routeguidetest.H2CClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	runtime.ReadMemStats(&after)

	if !strings.Contains(string(body), `"code":"resource_exhausted"`) {
		t.Errorf("a %d-byte gzip bomb got %s %s, want resource_exhausted", bomb.Len(), res.Status, body)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Errorf("the process allocated %d MiB while refusing the bomb", grown>>20)
	}
	stillServes(t, url)
}

// TestDrain opens streams of every shape, drains the server and checks that
// they end at once with unavailable while unary calls are still answered.
func TestDrain(t *testing.T) {
	t.Parallel()
	routeStarted := make(chan struct{})
	var once sync.Once
	srv, err := server.New(testFeatures, server.WithInterceptors(func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			if spec.Procedure == routeguideconnect.RouteGuideRecordRouteProcedure {
				once.Do(func() { close(routeStarted) })
			}
			return next(ctx, spec, stream)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	ts := routeguidetest.NewServer(t, srv)
	rpc := newRawClient(ts.URL)
	ctx := t.Context()

	chatStream := routeguidetest.Must(rpc.RouteChat(ctx))
	if err := chatStream.Send(&routeguide.RouteNote{Location: pt(8, 8), Message: "open"}); err != nil {
		t.Fatal(err)
	}
	if _, err := chatStream.Receive(); err != nil {
		t.Fatal(err)
	}
	route := routeguidetest.Must(rpc.RecordRoute(ctx))
	if err := route.Send(pt(1, 1)); err != nil {
		t.Fatal(err)
	}
	health := newHealthWatch(t, ts.URL)

	ended := make(chan error, 2)
	go func() {
		_, err := chatStream.Receive()
		ended <- err
	}()
	go func() {
		// Keep the route open until the server ends it: closing it first
		// would let it finish normally.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if route.Send(pt(1, 1)) != nil {
				break
			}
			// Not a wait: the client's pace, a point every 10 ms, keeps
			// the stream in use without flooding the connection.
			time.Sleep(10 * time.Millisecond)
		}
		_, err := route.CloseAndReceive()
		ended <- err
	}()
	// The chat has had its answer; the route's handler has started: both
	// streams are open on the server when the drain begins.
	select {
	case <-routeStarted:
	case <-time.After(5 * time.Second):
		t.Fatal("the RecordRoute stream did not reach its handler")
	}
	start := time.Now()
	srv.Drain()
	for range 2 {
		select {
		case err := <-ended:
			if connect.CodeOf(err) != connect.CodeUnavailable {
				t.Errorf("an open stream ended with %v, want unavailable", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("open streams did not end after Drain")
		}
	}
	t.Logf("open streams ended %v after Drain", time.Since(start))
	_ = chatStream.Close()

	if status := health(); status != "NOT_SERVING" {
		t.Errorf("health after Drain = %s, want NOT_SERVING", status)
	}
	if _, err := rpc.GetFeature(ctx, pt(10, 10)); err != nil {
		t.Errorf("a unary call after Drain failed: %v", err)
	}
	var lastErr error
	c, _ := client.New(ts.URL)
	for _, err := range c.ListFeatures(ctx, rect(pt(0, 0), pt(50, 50))) {
		lastErr = err
	}
	if connect.CodeOf(lastErr) != connect.CodeUnavailable {
		t.Errorf("a new stream after Drain = %v, want unavailable", lastErr)
	}
}

// newHealthWatch returns a function that checks the health of the
// RouteGuide service.
func newHealthWatch(t *testing.T, url string) func() string {
	return func() string {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
			url+"/grpc.health.v1.Health/Check", strings.NewReader(`{"service": "routeguide.RouteGuide"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		switch {
		case strings.Contains(string(body), "NOT_SERVING"):
			return "NOT_SERVING"
		case strings.Contains(string(body), "SERVING"):
			return "SERVING"
		}
		return fmt.Sprintf("%s %s", res.Status, body)
	}
}

// unluckyStream panics when it receives a point at latitude 13, as a
// handler with a bug might.
type unluckyStream struct{ connect.ServerStream }

func (s unluckyStream) Receive(msg any) error {
	err := s.ServerStream.Receive(msg)
	if p, ok := msg.(*routeguide.Point); ok && p.GetLatitude() == 13 {
		panic("unlucky")
	}
	return err
}
