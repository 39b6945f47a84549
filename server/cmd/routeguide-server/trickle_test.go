package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// trickleEvery is how often a trickling client sends the next byte of its
// request: slowly enough that none of the requests below arrives whole
// before its deadline.
const trickleEvery = 700 * time.Millisecond

// trickleH2 sends a unary call on a new HTTP/2 connection, its body a byte
// at a time, until the server answers. It returns the answer's code, how
// long after the headers it ended, and the connection's local address.
func trickleH2(t *testing.T, addr, contentType string, extra []hpack.HeaderField, body []byte) (connect.Code, time.Duration, string) {
	t.Helper()
	c := dialRaw(t, addr)
	defer c.close()
	fields := append([]hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: addr},
		{Name: ":path", Value: "/routeguide.RouteGuide/GetFeature"},
		{Name: "content-type", Value: contentType},
		{Name: "te", Value: "trailers"},
	}, extra...)
	start := time.Now()
	if err := c.framer.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.headerBlock(fields...), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if i < len(body) {
			// A failed write means the server has reset the stream or
			// closed the connection: the answer, if any, is in.
			if c.framer.WriteData(1, i == len(body)-1, body[i:i+1]) != nil || c.flush() != nil {
				break
			}
		}
		if eventually(trickleEvery, func() bool { _, _, ended := c.answer(1); return !ended.IsZero() || c.isClosed() }) {
			break
		}
		if time.Since(start) > patience {
			t.Fatal("no answer to a trickled request")
		}
	}
	answer, data, ended := c.answer(1)
	if ended.IsZero() {
		t.Fatalf("the connection closed without an answer: %v", answer)
	}
	return answerCode(t, answer, data), ended.Sub(start), c.conn.LocalAddr().String()
}

// trickleHTTP1 does the same over HTTP/1.1 with the Connect protocol.
func trickleHTTP1(t *testing.T, addr string, header string, body []byte) (connect.Code, time.Duration, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "POST /routeguide.RouteGuide/GetFeature HTTP/1.1\r\nHost: %s\r\n"+
		"Content-Type: application/proto\r\nContent-Length: %d\r\n%s\r\n", addr, len(body), header); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		res  *http.Response
		body []byte
		at   time.Time
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		data, _ := io.ReadAll(res.Body)
		answered <- answer{res: res, body: data, at: time.Now()}
	}()
	var a answer
	for i := 0; ; i++ {
		if i < len(body) {
			_, _ = conn.Write(body[i : i+1]) // fails once the server has closed the connection
		}
		select {
		case a = <-answered:
		case <-time.After(trickleEvery):
			if time.Since(start) > patience {
				t.Fatal("no answer to a trickled request")
			}
			continue
		}
		break
	}
	if a.err != nil {
		t.Fatalf("reading the answer: %v", a.err)
	}
	fields := map[string]string{}
	for k, v := range a.res.Header {
		fields[strings.ToLower(k)] = v[0]
	}
	return answerCode(t, fields, a.body), a.at.Sub(start), conn.LocalAddr().String()
}

// TestTrickledUnaryEndsOnTime sends GetFeature requests a byte at a time,
// over gRPC and Connect, HTTP/2 and HTTP/1.1, with and without a timeout
// header. Each must end with deadline_exceeded within its deadline plus a
// second, its deadline counted from its headers (what it asked for, or
// --default-timeout, or --request-read-timeout if that is shorter), and the
// access log must record the call with that code and its true duration.
func TestTrickledUnaryEndsOnTime(t *testing.T) {
	// margin is how late a call may end and still count as ended by its
	// deadline: less than the 3 s between the nearest two limits, more than
	// a loaded machine has been seen to take (1 s was not enough once).
	const margin = 2500 * time.Millisecond
	t.Parallel()
	// The three limits lie far enough apart that a loaded machine's late
	// timers cannot make one pass for the next (see margin).
	s := startRun(t, append(observedArgs, "--max-timeout", "12s", "--default-timeout", "4s",
		"--request-read-timeout", "8s"), nil)
	addr := strings.TrimPrefix(s.addr, "http://")
	point := marshal(t, eiffel)
	grpcBody := envelope(0, point)
	tests := []struct {
		name     string
		deadline time.Duration
		call     func(t *testing.T) (connect.Code, time.Duration, string)
	}{
		{"gRPC, grpc-timeout 1S", time.Second, func(t *testing.T) (connect.Code, time.Duration, string) {
			return trickleH2(t, addr, "application/grpc", grpcTimeoutHeader("1S"), grpcBody)
		}},
		{"gRPC, no timeout: the default", 4 * time.Second, func(t *testing.T) (connect.Code, time.Duration, string) {
			return trickleH2(t, addr, "application/grpc", nil, grpcBody)
		}},
		{"gRPC, grpc-timeout 1H: the request read timeout", 8 * time.Second, func(t *testing.T) (connect.Code, time.Duration, string) {
			return trickleH2(t, addr, "application/grpc", grpcTimeoutHeader("1H"), grpcBody)
		}},
		{"gRPC-Web, grpc-timeout 1S", time.Second, func(t *testing.T) (connect.Code, time.Duration, string) {
			return trickleH2(t, addr, "application/grpc-web+proto", grpcTimeoutHeader("1S"), grpcBody)
		}},
		{"Connect HTTP/2, Connect-Timeout-Ms 1000", time.Second, func(t *testing.T) (connect.Code, time.Duration, string) {
			return trickleH2(t, addr, "application/proto",
				[]hpack.HeaderField{{Name: "connect-timeout-ms", Value: "1000"}}, point)
		}},
		{"Connect HTTP/2, no timeout", 4 * time.Second, func(t *testing.T) (connect.Code, time.Duration, string) {
			return trickleH2(t, addr, "application/proto", nil, point)
		}},
		{"Connect HTTP/1.1, Connect-Timeout-Ms 1000", time.Second, func(t *testing.T) (connect.Code, time.Duration, string) {
			return trickleHTTP1(t, addr, "Connect-Timeout-Ms: 1000\r\n", point)
		}},
		{"Connect HTTP/1.1, no timeout", 4 * time.Second, func(t *testing.T) (connect.Code, time.Duration, string) {
			return trickleHTTP1(t, addr, "", point)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, took, peer := tt.call(t)
			t.Logf("%v after %v (deadline %v)", code, took.Round(time.Millisecond), tt.deadline)
			if code != connect.CodeDeadlineExceeded {
				t.Errorf("the client got %v, want deadline_exceeded", code)
			}
			if took > tt.deadline+margin {
				t.Errorf("the call ended %v after its headers, want within %v", took.Round(time.Millisecond), tt.deadline+margin)
			}
			var record map[string]any
			eventually(5*time.Second, func() bool {
				for _, r := range rpcRecords(s) {
					if r["peer"] == peer {
						record = r
						return true
					}
				}
				return false
			})
			if record == nil {
				t.Fatal("no access-log record")
			}
			logged := time.Duration(record["duration"].(float64))
			t.Logf("access log: %v after %v, at %v: %v", record["code"], logged.Round(time.Millisecond), record["level"], record["error"])
			if record["code"] != "deadline_exceeded" || record["level"] != "WARN" {
				t.Errorf("access log: %v at %v, want deadline_exceeded at WARN", record["code"], record["level"])
			}
			if logged < tt.deadline-50*time.Millisecond || logged > tt.deadline+margin {
				t.Errorf("access log duration %v, want about %v", logged, tt.deadline)
			}
		})
	}
}
