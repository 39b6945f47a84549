package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// The tests in this file send the server what a careless or hostile client
// might: requests that are late, malformed, undecodable or too large. Each
// must be answered with the code that puts the fault where it lies, and be
// recorded once, with that code, in the access log and the metrics; none
// may be logged at ERROR, which is for the server's own faults.

// observedArgs runs the server on a free loopback port, with JSON logs of
// every level and metrics.
var observedArgs = []string{"--addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug", "--admin-addr", "127.0.0.1:0"}

// envelope frames message as gRPC and Connect streams carry it.
func envelope(flags byte, message []byte) []byte {
	b := append([]byte{flags}, binary.BigEndian.AppendUint32(nil, uint32(len(message)))...)
	return append(b, message...)
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var eiffel = &routeguide.Point{Latitude: 488583700, Longitude: 22944810}

// h2Call makes one call on a new HTTP/2 connection with frames written by
// hand, and returns the code its answer carries. body is sent in one DATA
// frame per element; the last ends the stream.
func h2Call(t *testing.T, addr, procedure, contentType string, extra []hpack.HeaderField, body ...[]byte) connect.Code {
	t.Helper()
	c := dialRaw(t, addr)
	defer c.close()
	fields := append([]hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: addr},
		{Name: ":path", Value: "/routeguide.RouteGuide/" + procedure},
		{Name: "content-type", Value: contentType},
		{Name: "te", Value: "trailers"},
	}, extra...)
	err := c.framer.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.headerBlock(fields...),
		EndHeaders: true, EndStream: len(body) == 0})
	for i, b := range body {
		// Frames of at most 16 KiB, the most the server reads.
		for first := true; err == nil && (first || len(b) > 0); first = false {
			n := min(len(b), 16<<10)
			err = c.framer.WriteData(1, i == len(body)-1 && n == len(b), b[:n])
			b = b[n:]
		}
	}
	if err == nil {
		err = c.flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(patience, func() bool { _, _, ended := c.answer(1); return !ended.IsZero() || c.isClosed() }) {
		t.Fatalf("%s: no answer", procedure)
	}
	answer, data, _ := c.answer(1)
	return answerCode(t, answer, data)
}

// answerCode returns the code of an answer in any of the three protocols.
func answerCode(t *testing.T, fields map[string]string, body []byte) connect.Code {
	t.Helper()
	if status := fields["grpc-status"]; status != "" {
		n, _ := strconv.Atoi(status)
		return connect.Code(n)
	}
	var wire struct {
		Code  string `json:"code"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if len(body) > 5 && body[0] < 4 && body[0]&2 != 0 { // the end of a Connect stream
		body = body[5:]
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		t.Fatalf("no code in the answer %v %q", fields, body)
	}
	if wire.Error != nil {
		wire.Code = wire.Error.Code
	}
	var code connect.Code
	if err := code.UnmarshalText([]byte(wire.Code)); err != nil {
		t.Fatalf("answer %v %q: %v", fields, body, err)
	}
	return code
}

// httpCall makes a call with net/http over HTTP/1.1 or h2c and returns the
// code its answer carries.
func httpCall(t *testing.T, client *http.Client, method, url string, header http.Header, body []byte) connect.Code {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fields := make(map[string]string)
	for k, v := range res.Header {
		fields[strings.ToLower(k)] = v[0]
	}
	for k, v := range res.Trailer {
		fields[strings.ToLower(k)] = v[0]
	}
	return answerCode(t, fields, data)
}

func grpcTimeoutHeader(value string) []hpack.HeaderField {
	return []hpack.HeaderField{{Name: "grpc-timeout", Value: value}}
}

// recordsBeforeMarker makes a GetFeature call of its own, which succeeds,
// and returns the access-log records logged before that call's: a negative
// check ("no second record") reads these, for the later call's record
// proves that the log holds the records of the calls that ended before it.
// The caller's own calls must have failed, so that the marker's record is
// the last one that succeeded.
func recordsBeforeMarker(t *testing.T, s *runningServer) []map[string]any {
	t.Helper()
	c, err := client.New(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFeature(t.Context(), &routeguide.Point{}); err != nil {
		t.Fatal(err)
	}
	var before []map[string]any
	if !eventually(5*time.Second, func() bool {
		records := rpcRecords(s)
		if n := len(records); n > 0 && records[n-1]["procedure"] == "/routeguide.RouteGuide/GetFeature" && records[n-1]["code"] == "ok" {
			before = records[:n-1]
			return true
		}
		return false
	}) {
		t.Fatal("no access-log record of the marker call")
	}
	return before
}

// rpcRecords returns the access-log records logged so far.
func rpcRecords(s *runningServer) []map[string]any {
	var records []map[string]any
	for _, r := range s.logs.records() {
		if r["msg"] == "rpc" {
			records = append(records, r)
		}
	}
	return records
}

// TestHostileInputsRecorded sends the server one bad call after another
// and checks, for each, the code its client gets, that it is recorded once
// with that code in the access log and in rpc.server.call.duration, and
// that nothing is logged at ERROR.
func TestHostileInputsRecorded(t *testing.T) {
	t.Parallel()
	s := startRun(t, append(observedArgs, "--max-message-bytes", "65536"), nil)
	addr := strings.TrimPrefix(s.addr, "http://")
	point := marshal(t, eiffel)
	note := marshal(t, &routeguide.RouteNote{Location: eiffel, Message: "hello"})
	var bomb bytes.Buffer // 16 MiB of zeros in 16 KiB
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 16<<20))
	_ = zw.Close()
	h2c, http1 := routeguidetest.H2CClient(), routeguidetest.HTTP1Client()
	connectJSON := http.Header{"Content-Type": {"application/json"}}

	tests := []struct {
		name      string
		procedure string
		want      connect.Code
		call      func(t *testing.T) connect.Code
	}{
		// Deadlines that have passed before the call starts.
		{"gRPC timeout 1n", "GetFeature", connect.CodeDeadlineExceeded, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc", grpcTimeoutHeader("1n"), envelope(0, point))
		}},
		{"gRPC timeout 0S", "GetFeature", connect.CodeDeadlineExceeded, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc", grpcTimeoutHeader("0S"), envelope(0, point))
		}},
		{"Connect timeout 0 ms", "GetFeature", connect.CodeDeadlineExceeded, func(t *testing.T) connect.Code {
			return httpCall(t, h2c, http.MethodPost, s.addr+"/routeguide.RouteGuide/GetFeature",
				http.Header{"Content-Type": {"application/proto"}, "Connect-Timeout-Ms": {"0"}}, point)
		}},
		// Requests that do not decode.
		{"Connect GET with bad base64", "GetFeature", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return httpCall(t, http1, http.MethodGet,
				s.addr+"/routeguide.RouteGuide/GetFeature?encoding=proto&base64=1&message=%21%21%21", nil, nil)
		}},
		{"Connect GET with bad JSON", "GetFeature", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return httpCall(t, http1, http.MethodGet,
				s.addr+"/routeguide.RouteGuide/GetFeature?encoding=json&message=%7Bnope", nil, nil)
		}},
		{"Connect undecodable proto", "GetFeature", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return httpCall(t, h2c, http.MethodPost, s.addr+"/routeguide.RouteGuide/GetFeature",
				http.Header{"Content-Type": {"application/proto"}}, []byte{0xff, 0xff, 0xff})
		}},
		{"Connect undecodable JSON", "GetFeature", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return httpCall(t, http1, http.MethodPost, s.addr+"/routeguide.RouteGuide/GetFeature", connectJSON, []byte(`{"latitude": "north"}`))
		}},
		{"gRPC undecodable message", "GetFeature", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc", nil, envelope(0, []byte{0xff, 0xff, 0xff}))
		}},
		// Malformed envelopes.
		{"gRPC unary truncated envelope", "GetFeature", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc", nil, envelope(0, point)[:8])
		}},
		{"gRPC stream truncated envelope", "RouteChat", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "RouteChat", "application/grpc", nil, envelope(0, note)[:9])
		}},
		{"gRPC stream truncated prefix", "RecordRoute", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "RecordRoute", "application/grpc", nil, envelope(0, point), []byte{0, 0})
		}},
		// internal, as the gRPC protocol says and the conformance suite
		// checks; logged as the caller's fault.
		{"gRPC compressed flag without encoding", "RecordRoute", connect.CodeInternal, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "RecordRoute", "application/grpc", nil, envelope(1, point))
		}},
		{"gRPC unary compressed flag without encoding", "GetFeature", connect.CodeInternal, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc", nil, envelope(1, point))
		}},
		{"gRPC-Web trailer flag in a request", "ListFeatures", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "ListFeatures", "application/grpc-web+proto", nil, envelope(0x80, []byte("grpc-status: 0\r\n")))
		}},
		{"Connect stream data after end of stream", "RouteChat", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "RouteChat", "application/connect+proto",
				[]hpack.HeaderField{{Name: "connect-protocol-version", Value: "1"}},
				envelope(2, []byte("{}")), envelope(0, note))
		}},
		// Too large, once inflated.
		{"Connect gzip bomb", "GetFeature", connect.CodeResourceExhausted, func(t *testing.T) connect.Code {
			return httpCall(t, h2c, http.MethodPost, s.addr+"/routeguide.RouteGuide/GetFeature",
				http.Header{"Content-Type": {"application/proto"}, "Content-Encoding": {"gzip"}}, bomb.Bytes())
		}},
		{"gRPC stream gzip bomb", "RecordRoute", connect.CodeResourceExhausted, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "RecordRoute", "application/grpc",
				[]hpack.HeaderField{{Name: "grpc-encoding", Value: "gzip"}}, envelope(1, bomb.Bytes()))
		}},
		// Asking for what the server does not do.
		{"gRPC unknown encoding", "GetFeature", connect.CodeUnimplemented, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc",
				[]hpack.HeaderField{{Name: "grpc-encoding", Value: "br"}}, envelope(0, point))
		}},
		{"bidi over HTTP/1.1", "RouteChat", connect.CodeUnimplemented, func(t *testing.T) connect.Code {
			return httpCall(t, http1, http.MethodPost, s.addr+"/routeguide.RouteGuide/RouteChat",
				http.Header{"Content-Type": {"application/grpc-web+proto"}}, envelope(0, note))
		}},
		{"gRPC unary without a message", "GetFeature", connect.CodeUnimplemented, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc", nil, []byte{})
		}},
		{"gRPC unary with two messages", "GetFeature", connect.CodeUnimplemented, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc", nil, envelope(0, point), envelope(0, point))
		}},
		{"gRPC bad timeout", "GetFeature", connect.CodeInvalidArgument, func(t *testing.T) connect.Code {
			return h2Call(t, addr, "GetFeature", "application/grpc", grpcTimeoutHeader("soon"), envelope(0, point))
		}},
	}
	// calls counts the calls of procedure that ended with code, over every
	// protocol.
	calls := func(procedure string, code connect.Code) float64 {
		families := scrape(t, s.adminAddr+"/metrics")
		var n float64
		for _, m := range families["rpc_server_call_duration_seconds"].GetMetric() {
			if matches(m, []string{"rpc_method", "routeguide.RouteGuide/" + procedure,
				"rpc_response_status_code", strings.ToUpper(code.String())}) {
				n += float64(m.GetHistogram().GetSampleCount())
			}
		}
		return n
	}
	for _, tt := range tests {
		before := len(rpcRecords(s))
		counted := calls(tt.procedure, tt.want)
		if got := tt.call(t); got != tt.want {
			t.Errorf("%s: the client got %v, want %v", tt.name, got, tt.want)
		}
		eventually(5*time.Second, func() bool { return len(rpcRecords(s)) > before })
		records := recordsBeforeMarker(t, s)[before:]
		if len(records) != 1 {
			t.Errorf("%s: %d access-log records, want 1: %v", tt.name, len(records), records)
			continue
		}
		r := records[0]
		if r["code"] != tt.want.String() || r["procedure"] != "/routeguide.RouteGuide/"+tt.procedure {
			t.Errorf("%s: access log has %v %v, want %v %v", tt.name, r["procedure"], r["code"], tt.procedure, tt.want)
		}
		if r["level"] == "ERROR" {
			t.Errorf("%s: logged at ERROR: %v", tt.name, r)
		}
		// The metric is recorded once the access log has written.
		eventually(5*time.Second, func() bool { return calls(tt.procedure, tt.want) > counted })
		if got := calls(tt.procedure, tt.want) - counted; got != 1 {
			t.Errorf("%s: rpc.server.call.duration counted %v more calls of %s with %v, want 1", tt.name, got, tt.procedure, tt.want)
		}
		t.Logf("%s: %v, logged at %v: %v", tt.name, r["code"], r["level"], r["error"])
	}
	for _, r := range s.logs.records() {
		if r["level"] == "ERROR" {
			t.Errorf("logged at ERROR: %v", r)
		}
	}
	if err := checkServed(t.Context(), addr); err != nil {
		t.Error(err)
	}
	if t.Failed() {
		fmt.Println(strings.Join(s.logs.lines, "\n"))
	}
}

// TestUnaryResetBeforeRequest resets a GetFeature call before its request
// arrives, as a rapid-reset attack does: the call is recorded, once, as
// canceled, at DEBUG, so that such an attack cannot fill the log at info.
func TestUnaryResetBeforeRequest(t *testing.T) {
	t.Parallel()
	s := startRun(t, observedArgs, nil)
	c := dialRaw(t, strings.TrimPrefix(s.addr, "http://"))
	err := c.framer.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.headerBlock(c.grpcRequest("GetFeature")...), EndHeaders: true})
	if err == nil {
		err = c.flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	// Not a wait for a state: the attacker's timing, its input. The record
	// wanted is the same whether the reset meets the handler reading or not
	// yet started; the pause makes the first, rarer path the usual one.
	time.Sleep(100 * time.Millisecond)
	if err := c.framer.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	peer := c.conn.LocalAddr().String()
	var records []map[string]any
	eventually(5*time.Second, func() bool {
		records = nil
		for _, r := range rpcRecords(s) {
			if r["peer"] == peer {
				records = append(records, r)
			}
		}
		return len(records) > 0
	})
	records = nil
	for _, r := range recordsBeforeMarker(t, s) {
		if r["peer"] == peer {
			records = append(records, r)
		}
	}
	if len(records) != 1 {
		t.Fatalf("%d access-log records of the reset call, want 1: %v", len(records), records)
	}
	if r := records[0]; r["code"] != "canceled" || r["level"] != "DEBUG" {
		t.Errorf("the reset call was logged %v at %v, want canceled at DEBUG: %v", r["code"], r["level"], r)
	}
}
