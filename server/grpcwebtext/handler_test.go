package grpcwebtext_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/dataset"
	"github.com/routeguide/routeguide/server/grpcwebtext"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	textType    = "application/grpc-web-text"
	getFeature  = "/routeguide.RouteGuide/GetFeature"
	listFeature = "/routeguide.RouteGuide/ListFeatures"
	routeChat   = "/routeguide.RouteGuide/RouteChat"
	healthWatch = "/grpc.health.v1.Health/Watch"
)

// eiffelTower is a point of the default dataset that has a feature.
var eiffelTower = &routeguide.Point{Latitude: 488583700, Longitude: 22944810}

// startServer serves RouteGuide over the default dataset on loopback, over
// HTTP/1.1 and h2c. server.New puts the translation in its stack, so the
// calls go through every layer a deployed server has.
func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	return routeguidetest.NewRouteGuide(t, dataset.Default())
}

// frame puts a message in the envelope gRPC-Web sends it in.
func frame(t *testing.T, msg proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.AppendUint32([]byte{0}, uint32(len(b))) //nolint:gosec // a test message is small
}

// framed returns msg with its envelope.
func framed(t *testing.T, msg proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return append(frame(t, msg), b...)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// answer is a gRPC-Web response, its body decoded from base64 if it was
// sent so.
type answer struct {
	HTTPStatus  int
	ContentType string
	Messages    [][]byte
	Status      string // grpc-status, from the trailers or, if none, the headers
	Message     string // grpc-message, likewise, percent-decoded
	Body        string // as sent, for failure messages
}

// String summarizes an answer for failure messages.
func (a answer) String() string {
	body := a.Body
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	return fmt.Sprintf("HTTP %d, Content-Type %q, %d messages, grpc-status %q, grpc-message %q, body %q",
		a.HTTPStatus, a.ContentType, len(a.Messages), a.Status, a.Message, body)
}

// call posts body to path with the given Content-Type and reads the whole
// answer.
func call(t *testing.T, client *http.Client, ts *httptest.Server, path, contentType string, body io.Reader, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read the answer to %s: %v", path, err)
	}
	a := answer{HTTPStatus: res.StatusCode, ContentType: res.Header.Get("Content-Type"), Body: string(raw)}
	payload := raw
	if strings.HasPrefix(a.ContentType, textType) {
		if payload, err = decodeGroups(raw); err != nil {
			t.Fatalf("answer %q to %s is not base64 in padded chunks: %v", raw, path, err)
		}
	}
	trailer := textproto.MIMEHeader(res.Header)
	frames := bufio.NewReader(bytes.NewReader(payload))
	for strings.HasPrefix(a.ContentType, "application/grpc-web") {
		flags, msg, err := readFrame(frames)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("answer to %s: %v", path, err)
		}
		if flags&0x80 == 0 {
			a.Messages = append(a.Messages, msg)
			continue
		}
		trailer, err = textproto.NewReader(bufio.NewReader(bytes.NewReader(append(msg, "\r\n"...)))).ReadMIMEHeader()
		if err != nil {
			t.Fatalf("trailers %q of the answer to %s: %v", msg, path, err)
		}
	}
	a.Status = trailer.Get("Grpc-Status")
	a.Message, _ = url.PathUnescape(trailer.Get("Grpc-Message"))
	return a
}

// decodeGroups decodes base64 one group of four characters at a time, as a
// gRPC-Web text client does, since each flushed chunk is padded.
func decodeGroups(b []byte) ([]byte, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%d characters, not whole groups of 4", len(b))
	}
	var out []byte
	for len(b) > 0 {
		group, err := base64.StdEncoding.DecodeString(string(b[:4]))
		if err != nil {
			return nil, err
		}
		out = append(out, group...)
		b = b[4:]
	}
	return out, nil
}

// readFrame reads a gRPC-Web frame: its flags and its data.
func readFrame(r io.Reader) (byte, []byte, error) {
	var prefix [5]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("truncated frame prefix: %w", err)
		}
		return 0, nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint32(prefix[1:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return 0, nil, fmt.Errorf("frame of %d bytes: %w", len(msg), err)
	}
	return prefix[0], msg, nil
}

// unmarshal decodes the messages of an answer.
func unmarshal[T any, P interface {
	*T
	proto.Message
}](t *testing.T, a answer) []P {
	t.Helper()
	out := make([]P, 0, len(a.Messages))
	for _, b := range a.Messages {
		m := P(new(T))
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatalf("message %x: %v", b, err)
		}
		out = append(out, m)
	}
	return out
}

// reference asks the server with connect-go's own gRPC-Web client, the
// answer the translation must give too.
func reference(t *testing.T, ts *httptest.Server) routeguideconnect.RouteGuideClient {
	t.Helper()
	return routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(ts.Client(), ts.URL, connecthttp.WithGRPCWeb())))
}

var clients = map[string]func() *http.Client{
	"HTTP/1.1": routeguidetest.HTTP1Client,
	"h2c":      routeguidetest.H2CClient,
}

func TestGetFeature(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	want, err := reference(t, ts).GetFeature(t.Context(), eiffelTower)
	if err != nil {
		t.Fatal(err)
	}
	body := b64(framed(t, eiffelTower))
	for name, newClient := range clients {
		for _, contentType := range []string{textType, textType + "+proto", "Application/GRPC-Web-Text+Proto; charset=utf-8"} {
			t.Run(name+" "+contentType, func(t *testing.T) {
				t.Parallel()
				client := newClient()
				defer client.CloseIdleConnections()
				a := call(t, client, ts, getFeature, contentType, strings.NewReader(body), "Accept", textType)
				// The answer names the codec as the request did.
				wantType := textType
				if strings.Contains(strings.ToLower(contentType), "+proto") {
					wantType += "+proto"
				}
				if a.HTTPStatus != http.StatusOK || a.ContentType != wantType || a.Status != "0" {
					t.Fatalf("answer %v, want 200, Content-Type %s and grpc-status 0", a, wantType)
				}
				got := unmarshal[routeguide.Feature](t, a)
				if diff := cmp.Diff([]*routeguide.Feature{want}, got, protocmp.Transform()); diff != "" {
					t.Errorf("features (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// chunkedBody sends data as base64 in the given pieces, each padded and
// written on its own, as a client that flushes after each would: over
// HTTP/1.1 each is a chunk of the transfer encoding, over HTTP/2 a frame.
// sep goes between the pieces.
func chunkedBody(data []byte, sep string, cuts ...int) io.Reader {
	r, w := io.Pipe()
	go func() {
		last := 0
		for i, c := range append(cuts, len(data)) {
			piece := b64(data[last:c])
			if i > 0 {
				piece = sep + piece
			}
			if _, err := io.WriteString(w, piece); err != nil {
				w.CloseWithError(err)
				return
			}
			last = c
		}
		w.Close()
	}()
	return r
}

func TestChunkedRequest(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	want, err := reference(t, ts).GetFeature(t.Context(), eiffelTower)
	if err != nil {
		t.Fatal(err)
	}
	data := framed(t, eiffelTower)
	for name, newClient := range clients {
		for _, tc := range []struct {
			name string
			sep  string
			cuts []int
		}{
			{"byte by byte", "", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}},
			{"prefix apart", "", []int{5}},
			{"uneven", "", []int{2, 7, 11}},
			{"line breaks", "\r\n", []int{4, 8}},
		} {
			t.Run(name+" "+tc.name, func(t *testing.T) {
				t.Parallel()
				client := newClient()
				defer client.CloseIdleConnections()
				a := call(t, client, ts, getFeature, textType, chunkedBody(data, tc.sep, tc.cuts...))
				got := unmarshal[routeguide.Feature](t, a)
				if a.Status != "0" || len(got) != 1 || !proto.Equal(got[0], want) {
					t.Fatalf("answer %v, want grpc-status 0 and %v", a, want)
				}
			})
		}
	}
}

func TestListFeatures(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	rect := &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: -900000000, Longitude: -1800000000},
		Hi: &routeguide.Point{Latitude: 900000000, Longitude: 1800000000},
	}
	stream, err := reference(t, ts).ListFeatures(t.Context(), rect)
	if err != nil {
		t.Fatal(err)
	}
	var want []*routeguide.Feature
	for {
		f, err := stream.Receive()
		if err != nil {
			break
		}
		want = append(want, f)
	}
	if err := stream.Close(); err != nil || len(want) < 2 {
		t.Fatalf("reference ListFeatures: %d features, %v", len(want), err)
	}
	data := framed(t, rect)
	for name, newClient := range clients {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			client := newClient()
			defer client.CloseIdleConnections()
			a := call(t, client, ts, listFeature, textType, chunkedBody(data, "", 3, 10))
			if a.HTTPStatus != http.StatusOK || a.ContentType != textType || a.Status != "0" {
				t.Fatalf("answer %v, want 200, Content-Type %s and grpc-status 0", a, textType)
			}
			got := unmarshal[routeguide.Feature](t, a)
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("features (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadBase64(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	point := b64(framed(t, eiffelTower))
	for _, tc := range []struct {
		name, body, want string
	}{
		{"bad character", "AAAA!AAA", "bad character or padding at character 4"},
		{"URL alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(b64(framed(t, &routeguide.Point{Latitude: -1}))), "bad character"},
		{"truncated", point[:len(point)-2], "last group of 4 characters has only 2"},
		{"padding inside a group", "AA=A", "bad character or padding at character 2"},
		{"message then garbage", point + "*", "last group of 4 characters has only 1"},
	} {
		for _, path := range []string{getFeature, listFeature} {
			for name, newClient := range clients {
				t.Run(fmt.Sprint(tc.name, " ", path, " ", name), func(t *testing.T) {
					t.Parallel()
					client := newClient()
					defer client.CloseIdleConnections()
					a := call(t, client, ts, path, textType, strings.NewReader(tc.body))
					if a.HTTPStatus != http.StatusOK || !strings.HasPrefix(a.ContentType, textType) ||
						a.Status != "3" || !strings.Contains(a.Message, "not valid base64") || !strings.Contains(a.Message, tc.want) {
						t.Errorf("answer %v, want 200, Content-Type %s, grpc-status 3 (invalid_argument) and a message saying %q",
							a, textType, tc.want)
					}
				})
			}
		}
	}
}

func TestEmptyBody(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for name, newClient := range clients {
		for _, path := range []string{getFeature, listFeature} {
			t.Run(name+" "+path, func(t *testing.T) {
				t.Parallel()
				client := newClient()
				defer client.CloseIdleConnections()
				// Nothing to decode is no message: the call's error, not
				// the translation's, in text.
				a := call(t, client, ts, path, textType, strings.NewReader(""))
				if a.HTTPStatus != http.StatusOK || a.ContentType != textType || a.Status == "" || a.Status == "0" ||
					a.Message == "" || strings.Contains(a.Message, "base64") {
					t.Errorf("answer %v, want 200, Content-Type %s and the call's error (no message), not one about base64", a, textType)
				}
			})
		}
	}
}

// TestTextMatchesBinary checks that, whatever the request, a text call gets
// the answer a binary call with the same bytes gets, in base64.
func TestTextMatchesBinary(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	rect := &routeguide.Rectangle{Lo: &routeguide.Point{}, Hi: &routeguide.Point{Latitude: 900000000, Longitude: 1800000000}}
	for _, tc := range []struct {
		name, path string
		body       []byte
	}{
		{"empty", getFeature, nil},
		{"empty stream", listFeature, nil},
		{"feature", getFeature, framed(t, eiffelTower)},
		{"no feature", getFeature, framed(t, &routeguide.Point{Latitude: 1, Longitude: 1})},
		{"latitude out of range", getFeature, framed(t, &routeguide.Point{Latitude: 950000000})},
		{"two messages", getFeature, append(framed(t, eiffelTower), framed(t, eiffelTower)...)},
		{"truncated frame", getFeature, framed(t, eiffelTower)[:7]},
		{"message too large", getFeature, []byte{0, 0x10, 0, 0, 0}},
		{"not protobuf", getFeature, []byte{0, 0, 0, 0, 2, 0xff, 0xff}},
		{"stream", listFeature, framed(t, rect)},
		{"bidi over HTTP/1.1", routeChat, framed(t, &routeguide.RouteNote{Message: "hi"})},
		{"unknown procedure", "/routeguide.RouteGuide/Nothing", framed(t, eiffelTower)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := routeguidetest.HTTP1Client()
			defer client.CloseIdleConnections()
			binaryAnswer := call(t, client, ts, tc.path, "application/grpc-web+proto", bytes.NewReader(tc.body))
			textAnswer := call(t, client, ts, tc.path, textType+"+proto", strings.NewReader(b64(tc.body)))
			if binaryAnswer.ContentType == "application/grpc-web+proto" {
				binaryAnswer.ContentType = textType + "+proto"
			}
			if diff := cmp.Diff(binaryAnswer, textAnswer, cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".Body"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("text answer differs from binary (-binary +text):\n%s", diff)
			}
		})
	}
}

// TestHandlerAlone puts the translation in front of a connect-go handler of
// its own, health checking, with nothing else around it.
func TestHandlerAlone(t *testing.T) {
	t.Parallel()
	rpc := connect.NewServer()
	rpc.Register(connect.Method{
		Spec: connect.Spec{Procedure: "/grpc.health.v1.Health/Check", StreamType: connect.StreamTypeUnary},
		Handler: func(_ context.Context, _ connect.Spec, stream connect.ServerStream) error {
			var req healthpb.HealthCheckRequest
			if err := stream.Receive(&req); err != nil {
				return err
			}
			return stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
		},
	})
	mux := http.NewServeMux()
	connecthttp.Mount(mux, rpc)
	ts := routeguidetest.NewServer(t, handler(mux))
	client := routeguidetest.HTTP1Client()
	defer client.CloseIdleConnections()
	for service, want := range map[string][]byte{
		"":                      {0x08, 0x01}, // SERVING
		"routeguide.RouteGuide": {0x08, 0x01},
	} {
		req := append([]byte{0x0a, byte(len(service))}, service...) // HealthCheckRequest.service
		if service == "" {
			req = nil
		}
		body := b64(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(req)))) + b64(req)
		a := call(t, client, ts, "/grpc.health.v1.Health/Check", textType, strings.NewReader(body))
		if a.ContentType != textType || a.Status != "0" || len(a.Messages) != 1 || !bytes.Equal(a.Messages[0], want) {
			t.Errorf("Check(%q): %v, want status SERVING in text", service, a)
		}
	}
	a := call(t, client, ts, "/grpc.health.v1.Health/Check", textType, strings.NewReader("AAAA#"))
	if a.Status != "3" || !strings.Contains(a.Message, "not valid base64") {
		t.Errorf("Check with bad base64: %v, want invalid_argument", a)
	}
}

func TestUnsupportedTextCodec(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	client := routeguidetest.HTTP1Client()
	defer client.CloseIdleConnections()
	for _, contentType := range []string{textType + "+json", textType + "+thrift", textType + "-base64"} {
		a := call(t, client, ts, getFeature, contentType, strings.NewReader(b64([]byte(`{}`))))
		if a.HTTPStatus != http.StatusUnsupportedMediaType || !strings.HasPrefix(a.ContentType, "text/plain") ||
			!strings.Contains(a.Body, "carries protobuf only") || !strings.Contains(a.Body, contentType) {
			t.Errorf("%s: answer %v, want 415 with plain text saying that text mode carries protobuf only", contentType, a)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+getFeature, nil)
	req.Header.Set("Content-Type", textType+"+json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.Header.Get("Accept-Post"), textType+", "+textType+"+proto"; got != want {
		t.Errorf("Accept-Post %q, want %q", got, want)
	}
}

func TestBinaryWithTextAccept(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	client := routeguidetest.HTTP1Client()
	defer client.CloseIdleConnections()
	body := framed(t, eiffelTower)
	plain := call(t, client, ts, getFeature, "application/grpc-web+proto", bytes.NewReader(body))
	if plain.ContentType != "application/grpc-web+proto" || plain.Status != "0" || len(plain.Messages) != 1 {
		t.Errorf("binary call: answer %v, want it binary, untouched", plain)
	}
	// The gRPC-Web protocol lets a client ask for a text answer to a binary
	// request with its Accept header.
	text := call(t, client, ts, getFeature, "application/grpc-web+proto", bytes.NewReader(body),
		"Accept", "application/json;q=0.1, "+textType)
	if text.ContentType != textType+"+proto" || text.Status != "0" || len(text.Messages) != 1 ||
		!bytes.Equal(text.Messages[0], plain.Messages[0]) {
		t.Errorf("binary call accepting text: answer %v, want the binary one's message in base64", text)
	}
}

func TestOtherProtocolsUntouched(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, accept := range []string{"", textType} {
		c := routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(ts.Client(), ts.URL),
			acceptHeader(accept)))
		res, err := c.GetFeature(t.Context(), eiffelTower)
		if err != nil || res.GetName() == "" {
			t.Errorf("Connect call with Accept %q: %v, %v", accept, res, err)
		}
	}
	res, err := ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("page: %s, %s", res.Status, res.Header.Get("Content-Type"))
	}
}

func acceptHeader(accept string) connect.ClientInterceptor {
	return func(next connect.ClientFunc) connect.ClientFunc {
		return func(ctx context.Context, spec connect.Spec) (connect.ClientStream, error) {
			if info, ok := connect.CallInfoForClientContext(ctx); ok && accept != "" {
				info.RequestHeader().Set("Accept", accept)
			}
			return next(ctx, spec)
		}
	}
}

// frameReader reads the frames of a text answer as they arrive.
type frameReader struct {
	r       io.Reader
	pending []byte // base64 read, not yet decoded: less than a group
	frames  *bufio.Reader
}

func newFrameReader(body io.Reader) *frameReader {
	f := &frameReader{r: body}
	f.frames = bufio.NewReader(readerFunc(f.read))
	return f
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// read decodes what whole groups the body has sent so far.
func (f *frameReader) read(p []byte) (int, error) {
	for {
		whole := len(f.pending) / 4 * 4
		if whole > 0 {
			out, err := decodeGroups(f.pending[:whole])
			if err != nil {
				return 0, err
			}
			f.pending = f.pending[whole:]
			return copy(p, out), nil // p is bufio's buffer, larger than a read's worth
		}
		buf := make([]byte, 4096)
		n, err := f.r.Read(buf)
		f.pending = append(f.pending, buf[:n]...)
		if n == 0 && err != nil {
			return 0, err
		}
	}
}

func (f *frameReader) next() (byte, []byte, error) { return readFrame(f.frames) }

// TestLiveStreams checks that messages flow both ways as they are sent:
// a reply to a note in a padded chunk of its own arrives while the request
// is still open, and a server stream's first message arrives while the
// server still holds the stream.
func TestLiveStreams(t *testing.T) {
	t.Parallel()
	ts := startServer(t)

	t.Run("RouteChat over h2c", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		client := routeguidetest.H2CClient()
		defer client.CloseIdleConnections()
		at := &routeguide.Point{Latitude: 1, Longitude: 2}
		first := &routeguide.RouteNote{Location: at, Message: "first"}
		second := &routeguide.RouteNote{Location: at, Message: "second"}
		body, send := io.Pipe()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+routeChat, body)
		req.Header.Set("Content-Type", textType)
		sent := make(chan error, 1)
		go func() {
			// The server sends its headers with its first reply.
			_, err := io.WriteString(send, b64(framed(t, first)))
			sent <- err
		}()
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		// A reply that never comes fails the test at the deadline.
		stop := context.AfterFunc(ctx, func() {
			send.CloseWithError(ctx.Err())
			res.Body.Close()
		})
		defer stop()
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		frames := newFrameReader(res.Body)
		// Each note, in a padded chunk of its own, is answered with the
		// notes at its location so far, its own last, before the next is
		// sent: the exchange cannot go on unless both ways are live.
		wantReplies := [][]*routeguide.RouteNote{{first}, {first, second}}
		for i, note := range []*routeguide.RouteNote{first, second} {
			if i > 0 {
				if _, err := io.WriteString(send, b64(framed(t, note))); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range wantReplies[i] {
				flags, msg, err := frames.next()
				got := new(routeguide.RouteNote)
				if err == nil {
					err = proto.Unmarshal(msg, got)
				}
				if flags != 0 || err != nil || !proto.Equal(got, want) {
					t.Fatalf("reply to note %d: flags %#x, %v, %v; want %v while the request is open", i, flags, got, err, want)
				}
			}
		}
		send.Close()
		flags, msg, err := frames.next()
		if err != nil || flags&0x80 == 0 || !strings.Contains(string(msg), "grpc-status: 0") {
			t.Fatalf("after the request ended: flags %#x, %q, %v; want trailers with grpc-status 0", flags, msg, err)
		}
	})

	t.Run("health Watch over HTTP/1.1", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		client := routeguidetest.HTTP1Client()
		defer client.CloseIdleConnections()
		// An empty HealthCheckRequest: the server as a whole.
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+healthWatch, strings.NewReader(b64(make([]byte, 5))))
		req.Header.Set("Content-Type", textType)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		flags, msg, err := newFrameReader(res.Body).next()
		// status: SERVING, the first message of a stream that goes on.
		if err != nil || flags != 0 || !bytes.Equal(msg, []byte{0x08, 0x01}) {
			t.Fatalf("first message: flags %#x, %x, %v; want 0801 (SERVING) while the stream is open", flags, msg, err)
		}
		if ctx.Err() != nil {
			t.Fatal("the first message came only at the deadline")
		}
	})
}

// handler serves the gRPC-Web calls that need translating through next
// translated, classifying them as the server's stack does, and every other
// request untouched.
func handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mediaType, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		grpcWeb := mediaType == "application/grpc-web" || strings.HasPrefix(mediaType, "application/grpc-web+")
		if !strings.HasPrefix(mediaType, textType) && !(grpcWeb && grpcwebtext.AcceptsText(r.Header)) {
			next.ServeHTTP(w, r)
			return
		}
		tw, r, ok := grpcwebtext.Translate(w, r, mediaType)
		if ok {
			next.ServeHTTP(tw, r)
			tw.Finish()
		}
	})
}
