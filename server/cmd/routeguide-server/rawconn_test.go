package main

import (
	"bufio"
	"bytes"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// rawConn is an HTTP/2 connection without TLS whose frames the test writes
// one by one, so that it can break the rules as an attacker would. A
// goroutine reads what the server sends and records what the tests look at.
// Writes are buffered: call flush.
type rawConn struct {
	conn   net.Conn
	w      *bufio.Writer
	framer *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	addr   string

	closed chan struct{} // closed once reading fails: the server closed the connection, or the test did

	mu       sync.Mutex // protects the fields below
	settings int        // SETTINGS frames from the server, acknowledgements aside
	pingAcks int
	goAway   *http2.ErrCode
	resets   map[uint32]http2.ErrCode
	statuses map[uint32]string            // :status by stream
	fields   map[uint32]map[string]string // header and trailer fields by stream
	bodies   map[uint32][]byte            // DATA by stream
	ended    map[uint32]time.Time         // when each stream's END_STREAM arrived
	readErr  error
}

// dialRaw connects to addr and sends the client preface and an empty
// SETTINGS frame. The connection is closed when the test ends.
func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawConn{
		conn:     conn,
		w:        bufio.NewWriterSize(conn, 64<<10),
		addr:     addr,
		closed:   make(chan struct{}),
		resets:   make(map[uint32]http2.ErrCode),
		statuses: make(map[uint32]string),
		fields:   make(map[uint32]map[string]string),
		bodies:   make(map[uint32][]byte),
		ended:    make(map[uint32]time.Time),
	}
	c.framer = http2.NewFramer(c.w, conn)
	c.framer.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.encBuf)
	go c.read()
	t.Cleanup(c.close)
	if _, err := c.w.WriteString(http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.framer.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	return c
}

// close closes the connection and waits for its reader to stop.
func (c *rawConn) close() {
	c.conn.Close()
	<-c.closed
}

func (c *rawConn) flush() error {
	return c.w.Flush()
}

// read records the server's frames until the connection fails. It answers
// nothing: a hostile client need not.
func (c *rawConn) read() {
	defer close(c.closed)
	for {
		f, err := c.framer.ReadFrame()
		c.mu.Lock()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.settings++
			}
		case *http2.PingFrame:
			if f.IsAck() {
				c.pingAcks++
			}
		case *http2.GoAwayFrame:
			code := f.ErrCode
			c.goAway = &code
		case *http2.RSTStreamFrame:
			c.resets[f.StreamID] = f.ErrCode
		case *http2.MetaHeadersFrame:
			if status := f.PseudoValue("status"); status != "" {
				c.statuses[f.StreamID] = status
			}
			if c.fields[f.StreamID] == nil {
				c.fields[f.StreamID] = make(map[string]string)
			}
			for _, field := range f.RegularFields() {
				c.fields[f.StreamID][field.Name] = field.Value
			}
			if f.StreamEnded() {
				c.ended[f.StreamID] = time.Now()
			}
		case *http2.DataFrame:
			c.bodies[f.StreamID] = append(c.bodies[f.StreamID], f.Data()...)
			if f.StreamEnded() {
				c.ended[f.StreamID] = time.Now()
			}
		}
		if err != nil {
			c.readErr = err
		}
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// isClosed says whether the connection has ended.
func (c *rawConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// settingsReceived says whether the server has sent its SETTINGS, as it
// does as soon as it starts serving the connection.
func (c *rawConn) settingsReceived() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings > 0
}

// goAwayCode returns the error code of the server's GOAWAY, if it sent one.
func (c *rawConn) goAwayCode() (http2.ErrCode, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAway == nil {
		return 0, false
	}
	return *c.goAway, true
}

// outcome says how the server answered stream id: with a response status,
// a reset, or not at all so far.
func (c *rawConn) outcome(id uint32) (status string, reset *http2.ErrCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if code, ok := c.resets[id]; ok {
		reset = &code
	}
	return c.statuses[id], reset
}

// answer returns the header and trailer fields and the body of stream id,
// and when it ended, if it has.
func (c *rawConn) answer(id uint32) (fields map[string]string, body []byte, ended time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.fields[id]), bytes.Clone(c.bodies[id]), c.ended[id]
}

// headerBlock encodes fields with the connection's HPACK encoder.
func (c *rawConn) headerBlock(fields ...hpack.HeaderField) []byte {
	c.encBuf.Reset()
	for _, f := range fields {
		// Writes to a bytes.Buffer do not fail.
		_ = c.enc.WriteField(f)
	}
	return bytes.Clone(c.encBuf.Bytes())
}

// grpcRequest returns the header fields of a gRPC call of method (such as
// "RouteChat"), followed by extra.
func (c *rawConn) grpcRequest(method string, extra ...hpack.HeaderField) []hpack.HeaderField {
	return append([]hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: c.addr},
		{Name: ":path", Value: "/routeguide.RouteGuide/" + method},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
	}, extra...)
}

// eventually is routeguidetest.Eventually, by its short name here.
var eventually = routeguidetest.Eventually
