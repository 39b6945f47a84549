package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// serverBinary is the real command, built once, without the race detector,
// so that its memory is what an operator would see.
var serverBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "routeguide-server-bin")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "routeguide-server")
	out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w: %s", err, out)
	}
	return path, nil
})

// subprocess is the real command running as a process of its own.
type subprocess struct {
	cmd  *exec.Cmd
	addr string
}

// startProcess builds the command, runs it on loopback with args and waits
// for its start-up line. It is killed when the test ends.
func startProcess(t *testing.T, args ...string) *subprocess {
	t.Helper()
	path, err := serverBinary()
	if err != nil {
		t.Skipf("cannot build the server: %v", err)
	}
	cmd := exec.Command(path, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	started := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stderr)
		for scanner.Scan() {
			if m := listeningLine.FindStringSubmatch(scanner.Text()); m != nil {
				started <- m[1]
			}
		}
	}()
	select {
	case addr := <-started:
		return &subprocess{cmd: cmd, addr: addr}
	case <-time.After(patience):
		t.Fatal("the server did not start")
		return nil
	}
}

var vmRSS = regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`)

// rss returns the process's resident memory.
func (p *subprocess) rss(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	m := vmRSS.FindSubmatch(status)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// cpu returns the CPU time the process has used so far.
func (p *subprocess) cpu(t *testing.T) time.Duration {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// The fields after the command's name, which is in parentheses.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ, on every Linux architecture Go supports
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// stuckChat is an HTTP/2 connection that opens RouteChat streams, tells
// the server it can take no response data at all (a zero stream window),
// and sends notes as long as the server's flow control lets it: what a
// client does to make the server hold as much of its data as it can.
type stuckChat struct {
	conn   net.Conn
	framer *http2.Framer
	w      *bufio.Writer

	mu      sync.Mutex // protects the fields below
	changed *sync.Cond
	connWin int64            // what the server's connection window lets us send
	initial int64            // the server's initial stream window
	streams map[uint32]int64 // what each stream's window lets us send
	readErr error
}

// openStuckChat connects to addr and opens streams RouteChat streams on it.
func openStuckChat(t *testing.T, addr string, streams int) *stuckChat {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &stuckChat{conn: conn, w: bufio.NewWriterSize(conn, 4<<10), connWin: 65535, initial: 65535,
		streams: make(map[uint32]int64)}
	c.changed = sync.NewCond(&c.mu)
	c.framer = http2.NewFramer(c.w, conn)
	t.Cleanup(func() { conn.Close() })
	go c.read()
	_, _ = c.w.WriteString(http2.ClientPreface)
	_ = c.framer.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: addr},
		{Name: ":path", Value: "/routeguide.RouteGuide/RouteChat"},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	} {
		_ = enc.WriteField(f)
	}
	for i := range streams {
		id := uint32(2*i + 1)
		_ = c.framer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true})
	}
	if err := c.w.Flush(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *stuckChat) read() {
	for {
		f, err := c.framer.ReadFrame()
		c.mu.Lock()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if v, ok := f.Value(http2.SettingInitialWindowSize); ok && !f.IsAck() {
				for id := range c.streams {
					c.streams[id] += int64(v) - c.initial
				}
				c.initial = int64(v)
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.connWin += int64(f.Increment)
			} else {
				c.streams[f.StreamID] += int64(f.Increment)
			}
		}
		if err != nil {
			c.readErr = err
		}
		c.changed.Broadcast()
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// fill sends notes on the connection's streams, a frame at a time within
// the server's windows, until they stay shut for a while, and returns how
// many bytes it sent.
func (c *stuckChat) fill(streams int, notes []byte) (int64, error) {
	var sent int64
	offsets := make([]int, streams)
	for {
		c.mu.Lock()
		var id uint32
		var room int64
		for i := range streams {
			s := uint32(2*i + 1)
			w, ok := c.streams[s]
			if !ok {
				w = c.initial
				c.streams[s] = w
			}
			if r := min(w, c.connWin, 16<<10); r > 0 {
				id, room = s, r
				break
			}
		}
		if room == 0 {
			// Wait for a window update, or give up once the windows have
			// stayed shut for a while: the server holds all it will.
			waited := make(chan struct{})
			timer := time.AfterFunc(300*time.Millisecond, func() {
				c.mu.Lock()
				close(waited)
				c.changed.Broadcast()
				c.mu.Unlock()
			})
			c.changed.Wait()
			timer.Stop()
			err := c.readErr
			c.mu.Unlock()
			if err != nil {
				return sent, err
			}
			select {
			case <-waited:
				return sent, nil
			default:
			}
			continue
		}
		c.streams[id] -= room
		c.connWin -= room
		c.mu.Unlock()
		i := int(id-1) / 2
		data := make([]byte, room)
		for n := 0; n < len(data); {
			k := copy(data[n:], notes[offsets[i]:])
			n += k
			offsets[i] = (offsets[i] + k) % len(notes)
		}
		if err := c.framer.WriteData(id, false, data); err != nil {
			return sent, err
		}
		if err := c.w.Flush(); err != nil {
			return sent, err
		}
		sent += room
	}
}

// chatNotes returns gRPC messages of notes of almost the longest text a
// note may have, one after another, as a RouteChat request body carries
// them.
func chatNotes(t *testing.T) []byte {
	var body []byte
	for i := range 16 {
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: int32(i), Longitude: 7},
			Message: strings.Repeat("w", 1000)}
		b, err := proto.Marshal(note)
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, 0)
		body = binary.BigEndian.AppendUint32(body, uint32(len(b)))
		body = append(body, b...)
	}
	return body
}

// TestZeroWindowChatsBounded holds 300 connections whose RouteChat streams
// the server cannot answer, because the client advertises a zero window,
// and that send notes for as long as the server's flow control lets them.
// The server process's resident memory must grow by less than 96 MiB, and
// a well-behaved client must still be served.
func TestZeroWindowChatsBounded(t *testing.T) {
	t.Parallel()
	// A long write timeout, so that the stuck streams are not reset while
	// the test measures; a burst that the stuck streams, all from this
	// machine, cannot spend, since memory is what is measured here.
	p := startProcess(t, "--write-timeout", "10m", "--write-burst", "1000000")
	if err := checkServed(t.Context(), p.addr); err != nil {
		t.Fatal(err)
	}
	before := p.rss(t)
	const connections, streamsEach = 300, 4
	notes := chatNotes(t)
	var sent int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for range connections {
		c := openStuckChat(t, p.addr, streamsEach)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := c.fill(streamsEach, notes)
			mu.Lock()
			defer mu.Unlock()
			sent += n
			if err != nil && err != io.EOF {
				t.Errorf("a stuck connection failed after %d bytes: %v", n, err)
			}
		})
	}
	wg.Wait()
	after := p.rss(t)
	grown := after - before
	t.Logf("%d connections, %d streams each, sent %d MiB the server has not answered; RSS %d MiB -> %d MiB (+%d MiB)",
		connections, streamsEach, sent>>20, before>>20, after>>20, grown>>20)
	if grown >= 96<<20 {
		t.Errorf("RSS grew by %d MiB, want less than 96 MiB", grown>>20)
	}
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := checkServed(ctx, p.addr); err != nil {
		t.Errorf("with the stuck connections held: %v", err)
	}
}
