package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
)

// TestConnectionWriteTimeout checks that a connection whose client stops
// reading from the socket is closed once the server's writes to it make no
// progress for --write-timeout, with flow control giving the server every
// reason to write. The client opens streams that would bring it far more
// than the sockets' buffers hold, reads nothing for a while, then reads
// what is there: the server must have given up, short of the whole.
func TestConnectionWriteTimeout(t *testing.T) {
	t.Parallel()
	const count, nameBytes = 2000, 4000 // 8 MB a call: large writes, quick to make
	type point struct {
		Latitude  int32 `json:"latitude"`
		Longitude int32 `json:"longitude"`
	}
	type feature struct {
		Name     string `json:"name"`
		Location point  `json:"location"`
	}
	features := make([]feature, count)
	for i := range features {
		features[i] = feature{Name: strings.Repeat("x", nameBytes), Location: point{int32(i), int32(i)}}
	}
	data, err := json.Marshal(features)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "features.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startRun(t, append(slices.Clone(observedArgs), "--features", path, "--write-timeout", "300ms"), nil)
	addr := strings.TrimPrefix(s.addr, "http://")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	framer := http2.NewFramer(w, nil)
	if _, err := w.WriteString(http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	const window = 1<<31 - 1
	framer.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
	framer.WriteWindowUpdate(0, window-65535)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	world, _ := proto.Marshal(&routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: -900_000_000, Longitude: -1_800_000_000},
		Hi: &routeguide.Point{Latitude: 900_000_000, Longitude: 1_800_000_000},
	})
	body := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(world))), world...)
	const streams = 8 // 64 MB in all
	for i := range streams {
		block.Reset()
		for _, f := range [][2]string{
			{":method", "POST"}, {":scheme", "http"}, {":authority", addr},
			{":path", routeguideconnect.RouteGuideListFeaturesProcedure},
			{"content-type", "application/grpc"}, {"te", "trailers"},
		} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		id := uint32(2*i + 1)
		framer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true})
		framer.WriteData(id, true, body)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	// Reading nothing until the server has given up on every stream, as
	// their access-log records show. Streams that end as cancelled by
	// their client are recorded at most once a second, the others counted
	// in the record or in a summary; this server has no other client.
	peer := conn.LocalAddr().String()
	ended := func() (n int) {
		for _, r := range s.logs.records() {
			switch {
			case r["msg"] == "rpc" && r["peer"] == peer && r["procedure"] == routeguideconnect.RouteGuideListFeaturesProcedure:
				n++
				if more, ok := r["cancelled_unrecorded"].(float64); ok {
					n += int(more)
				}
			case r["msg"] == "rpcs cancelled by their clients, not recorded one by one":
				n += int(r["count"].(float64))
			}
		}
		return n
	}
	if !eventually(patience, func() bool { return ended() == streams }) {
		t.Fatalf("%d of %d streams that the client stopped reading ended within %v", ended(), streams, patience)
	}
	// The server gives up in one of two ways, whichever timer fires first
	// on a busy machine: the connection's write timeout closes it, or each
	// stream's write-progress timeout resets its stream and the connection
	// falls quiet. Either way the client must get far less than it asked
	// for; with the timeouts off it would get everything.
	var n int64
	buf := make([]byte, 64<<10)
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var k int
		k, err = conn.Read(buf)
		n += int64(k)
		if err != nil {
			break
		}
	}
	var netErr net.Error
	quiet := errors.As(err, &netErr) && netErr.Timeout()
	if n >= streams*count*nameBytes {
		t.Fatalf("read %d bytes, everything asked for: the server never gave up", n)
	}
	if quiet {
		t.Logf("streams reset, connection quiet after %d bytes", n)
		return
	}
	t.Logf("connection ended after %d bytes: %v", n, err)
}
