package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/limits"
)

func frame(flags byte, message string) string {
	return string(append(append([]byte{flags}, binary.BigEndian.AppendUint32(nil, uint32(len(message)))...), message...))
}

// TestFramedBody reads requests through framedBody whole and a byte at a
// time: well-framed ones come through unchanged, and malformed ones fail
// with invalid_argument after the messages before the fault.
func TestFramedBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		compressed bool   // whether the request names an encoding
		wantRead   string // what comes through before the error, if any
		wantErr    string // in the error; "" for none
	}{
		{"empty", "", false, "", ""},
		{"messages", frame(0, "ab") + frame(0, "") + frame(0, "cde"), false, "", ""},
		{"compressed with an encoding", frame(1, "zz"), true, "", ""},
		{"compressed without an encoding", frame(0, "ab") + frame(1, "zz"), false, frame(0, "ab"), "flagged as compressed"}, // internal
		{"end of stream flag", frame(0, "ab") + frame(2, "{}") + frame(0, "x"), false, frame(0, "ab"), "flags 0x02"},
		{"trailer flag", frame(0x80, "grpc-status: 0"), true, "", "flags 0x80"},
		{"truncated message", frame(0, "abcdef")[:7], false, frame(0, "abcdef")[:7], "promised 4 more bytes"},
		{"truncated prefix", frame(0, "ab") + "\x00\x00", false, frame(0, "ab") + "\x00\x00", "promised 3 more bytes"},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.body)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			b := &framedBody{ReadCloser: io.NopCloser(r), compressed: tt.compressed}
			got, err := io.ReadAll(b)
			want := tt.body
			if tt.wantErr != "" {
				want = tt.wantRead
			}
			if string(got) != want {
				t.Errorf("%s (one byte a read: %v): read %q, want %q", tt.name, oneByte, got, want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("%s (one byte a read: %v): %v", tt.name, oneByte, err)
			case tt.wantErr != "" && (!callerFaultOrInvalid(err) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("%s (one byte a read: %v): error %v, want invalid_argument or the caller's fault, with %q", tt.name, oneByte, err, tt.wantErr)
			}
		}
	}
}

// callerFaultOrInvalid says whether err is invalid_argument or, as a
// compressed flag without an encoding is, internal marked as the caller's
// fault.
func callerFaultOrInvalid(err error) bool {
	var fault interface{ CallerFault() bool }
	return connect.CodeOf(err) == connect.CodeInvalidArgument ||
		connect.CodeOf(err) == connect.CodeInternal && errors.As(err, &fault) && fault.CallerFault()
}

// FuzzFramedBody checks that framedBody never panics, passes through a
// prefix of what it reads, and fails only with invalid_argument.
func FuzzFramedBody(f *testing.F) {
	f.Add([]byte(frame(0, "ab")+frame(1, "c")), true)
	f.Add([]byte(frame(2, "{}")), false)
	f.Add([]byte{0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, body []byte, compressed bool) {
		got, err := io.ReadAll(&framedBody{ReadCloser: io.NopCloser(iotest.HalfReader(bytes.NewReader(body))), compressed: compressed})
		if !bytes.HasPrefix(body, got) {
			t.Fatalf("read %q, not a prefix of %q", got, body)
		}
		if err != nil && !callerFaultOrInvalid(err) {
			t.Fatalf("error %v, want invalid_argument or the caller's fault", err)
		}
		if err == nil && len(got) != len(body) {
			t.Fatalf("read %d of %d bytes without an error", len(got), len(body))
		}
	})
}

func TestGRPCTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value      string
		want       time.Duration
		ok, refuse bool
	}{
		{"1S", time.Second, true, false},
		{"0S", 0, true, false},
		{"1n", time.Nanosecond, true, false},
		{"250m", 250 * time.Millisecond, true, false},
		{"99999999H", 0, false, false}, // longer than any deadline: none
		{"2H", 2 * time.Hour, true, false},
		{"123456789S", 0, false, true}, // more than 8 digits
		{"soon", 0, false, true},
		{"1", 0, false, true},
		{"-1S", 0, false, true},
		{"1x", 0, false, true},
	}
	for _, tt := range tests {
		got, ok, err := grpcTimeout(tt.value)
		if got != tt.want || ok != tt.ok || (err != nil) != tt.refuse {
			t.Errorf("grpcTimeout(%q) = %v, %v, %v; want %v, %v, refused: %t", tt.value, got, ok, err, tt.want, tt.ok, tt.refuse)
		}
		if tt.refuse && connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("grpcTimeout(%q) refused with %v, want invalid_argument", tt.value, connect.CodeOf(err))
		}
	}
}

func TestReceiveWindows(t *testing.T) {
	t.Parallel()
	l := limits.Default()
	if l.ConnReceiveWindow != 128<<10 || l.StreamReceiveWindow != 64<<10 {
		t.Errorf("default windows %d and %d, want 128 KiB a connection and 64 KiB a stream", l.ConnReceiveWindow, l.StreamReceiveWindow)
	}
	s := NewHTTPServer(nil, limits.Limits{ConnReceiveWindow: 256 << 10, StreamReceiveWindow: 32 << 10}, false)
	if got := s.HTTP2; got.MaxReceiveBufferPerConnection != 256<<10 || got.MaxReceiveBufferPerStream != 32<<10 {
		t.Errorf("http.Server windows %d and %d, want the limits' 256 KiB and 32 KiB",
			got.MaxReceiveBufferPerConnection, got.MaxReceiveBufferPerStream)
	}
}
