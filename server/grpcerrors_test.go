package server_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
)

// A gRPC call that fails before any message is sent, refused before
// connect-go serves it or failed by its handler, is answered with headers
// that announce trailers and no body. Those headers must not say
// "content-length: 0": HAProxy 2.6 then sometimes drops the trailers, and
// its client reads unknown instead of the reason.
func TestGRPCErrorsSendNoLength(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	ts := routeguidetest.NewRouteGuide(t, testFeatures, iss.identityOption(t, server.WritesSignedIn))
	client := routeguidetest.H2CClient()
	cases := []struct {
		name, path, timeout string
		body                []byte
		want                codes.Code
	}{
		{"anonymous write (the identity gate)", "/routeguide.notes.v1.NotesService/PostNote", "", nil, codes.Unauthenticated},
		{"unreadable timeout (admission)", "/routeguide.RouteGuide/GetFeature", "xyz", nil, codes.InvalidArgument},
		{"no such procedure (admission)", "/routeguide.RouteGuide/GetFeatures", "", nil, codes.Unimplemented},
		{"latitude out of range (the handler)", "/routeguide.RouteGuide/GetFeature", "", envelope(t, outOfRange), codes.InvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			body := c.body
			if body == nil {
				body = make([]byte, 5) // an empty message
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+c.path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/grpc")
			req.Header.Set("TE", "trailers")
			if c.timeout != "" {
				req.Header.Set("Grpc-Timeout", c.timeout)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Values("Content-Length"); len(got) != 0 {
				t.Errorf("Content-Length %q sent with trailers to come", got)
			}
			if got, want := resp.Trailer.Get("Grpc-Status"), fmt.Sprint(int(c.want)); got != want {
				t.Errorf("grpc-status %q, want %q (headers %v, trailers %v)", got, want, resp.Header, resp.Trailer)
			}
		})
	}
}

// outOfRange is a point whose latitude is out of range.
var outOfRange = &routeguide.Point{Latitude: 1_000_000_000}

// envelope is m as the one message of a gRPC request's body.
func envelope(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(b))), b...)
}

// TestGRPCErrorsThroughHAProxy makes a thousand calls that fail through
// HAProxy, over HTTP/2 to the server as task cluster does, half anonymous
// writes and half out-of-range points: every one must reach grpc-go with
// its code and reason. While such answers said "content-length: 0", more
// than half of them reached it here as unknown, with no message.
func TestGRPCErrorsThroughHAProxy(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast paths %v", fast), func(t *testing.T) {
			t.Parallel()
			options := []server.Option{iss.identityOption(t, server.WritesSignedIn)}
			if !fast {
				options = append(options, server.WithoutFastPaths())
			}
			ts := routeguidetest.NewRouteGuide(t, testFeatures, options...)
			front := routeguidetest.FreePort(t)
			routeguidetest.HAProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend f
    bind %s
    default_backend b
backend b
    server s %s proto h2
`, front, ts.Listener.Addr()), front)
			cc, err := grpc.NewClient(front, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			const calls, callers = 1000, 8
			var mu sync.Mutex
			others := map[string]int{}
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					for i := range calls / callers {
						var err error
						want, reason := codes.Unauthenticated, "bearer token"
						if i%2 == 0 {
							err = cc.Invoke(callContext(t), "/routeguide.notes.v1.NotesService/PostNote",
								&notesv1.PostNoteRequest{Note: &routeguide.RouteNote{Location: pt(1, 7), Message: "hello"}}, new(notesv1.PostNoteResponse))
						} else {
							want, reason = codes.InvalidArgument, "out of range"
							err = cc.Invoke(callContext(t), "/routeguide.RouteGuide/GetFeature", outOfRange, new(routeguide.Feature))
						}
						s := status.Convert(err)
						if s.Code() == want && strings.Contains(s.Message(), reason) {
							continue
						}
						mu.Lock()
						others[s.Code().String()+": "+s.Message()]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(others) > 0 {
				t.Errorf("of %d calls, these did not fail with their code and reason: %v", calls, others)
			}
		})
	}
}
