package transport

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect/v2"
)

// The checks of this file answer the caller's mistakes in a call of a
// procedure before connect-go sees them: connect-go reports a truncated
// message, a compressed flag without an encoding, or data after the end of
// the stream as internal errors (and one as a "corrupt response"), which
// blame the server and are logged as its faults; and a Connect GET whose
// message is not base64 as unknown.

// checkGetMessage checks that the message of a Connect GET decodes as
// connect-go will decode it: URL-safe base64, padded or not, when the base64
// parameter is 1.
func checkGetMessage(r *http.Request) error {
	query := r.URL.Query()
	if query.Get("base64") != "1" {
		return nil
	}
	message := query.Get("message")
	encoding := base64.URLEncoding
	if len(message)%4 != 0 {
		encoding = base64.RawURLEncoding
	}
	if _, err := encoding.DecodeString(message); err != nil {
		return connect.Errorf(connect.CodeInvalidArgument,
			"the message query parameter is not URL-safe base64, as base64=1 says: %v", err).WithCause(err)
	}
	return nil
}

// framedBody checks the envelopes of a request's messages as they are read:
// a five-byte prefix of flags and length, then the message. A request may
// flag a message only as compressed, and only when it names an encoding,
// and must not end inside an envelope.
type framedBody struct {
	io.ReadCloser
	compressed bool // whether the request names an encoding

	prefix    [5]byte
	prefixLen int    // bytes of the current prefix read so far
	remaining uint32 // bytes of the current message still to come
	messages  int    // envelopes begun
	err       error  // the error to return from the next Read
}

func (b *framedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.ReadCloser.Read(p)
	for i := 0; i < n; {
		if b.remaining > 0 {
			skip := min(int(b.remaining), n-i)
			i += skip
			b.remaining -= uint32(skip)
			continue
		}
		if b.prefixLen == 0 {
			// The flags come first: a bad one is refused before it is
			// handed over, with the messages before it.
			b.messages++
			if problem := b.check(p[i]); problem != nil {
				b.err = problem
				if i == 0 {
					return 0, problem
				}
				return i, nil
			}
		}
		k := copy(b.prefix[b.prefixLen:], p[i:n])
		b.prefixLen += k
		i += k
		if b.prefixLen < len(b.prefix) {
			break
		}
		b.prefixLen = 0
		b.remaining = binary.BigEndian.Uint32(b.prefix[1:])
	}
	if errors.Is(err, io.EOF) && (b.prefixLen > 0 || b.remaining > 0) {
		b.err = connect.Errorf(connect.CodeInvalidArgument,
			"the request ended inside message %d: its envelope promised %d more bytes", b.messages, b.missing())
		if n > 0 {
			return n, nil
		}
		return 0, b.err
	}
	return n, err
}

// missing says how many bytes the envelope in progress still needed.
func (b *framedBody) missing() int {
	if b.prefixLen > 0 {
		return len(b.prefix) - b.prefixLen
	}
	return int(b.remaining)
}

func (b *framedBody) check(flags byte) error {
	const compressedFlag = 1
	switch {
	case flags&^compressedFlag != 0:
		return connect.Errorf(connect.CodeInvalidArgument,
			"message %d of the request has flags %#02x: a request carries only messages, "+
				"flagged at most as compressed (1), and nothing after its end", b.messages, flags)
	case flags&compressedFlag != 0 && !b.compressed:
		// internal, as the gRPC protocol prescribes and the Connect
		// conformance suite checks, though the fault is the caller's.
		msg := fmt.Sprintf("message %d of the request is flagged as compressed, but the request names no encoding", b.messages)
		return connect.NewError(connect.CodeInternal, msg).WithCause(callerFault{errors.New(msg)})
	}
	return nil
}

// callerFault is an error its caller made, whatever code the protocol
// answers it with, so that it is not logged as the server's fault.
type callerFault struct{ error }

// CallerFault says the caller is at fault. The access log reads it.
func (callerFault) CallerFault() bool { return true }

func (f callerFault) Unwrap() error { return f.error }

// AskedTimeout returns the timeout a call asks for in its request header,
// if it asks for one that can be read; connect-go rejects the others. The
// transport gives every unary call a deadline when its headers arrive,
// whether or not it asks for one: this tells the two apart. Inside the
// stack, [Call] has it already.
func AskedTimeout(header http.Header) (time.Duration, bool) {
	protocol, _ := protocolAndCodec(mediaTypeOf(header.Get("Content-Type")))
	timeout, ok, _ := askedTimeout(header, protocol)
	return timeout, ok
}

// askedTimeout is [AskedTimeout] for a call of protocol, and err the
// answer to a timeout header that cannot be read: invalid_argument, as
// connect-go would answer it.
func askedTimeout(header http.Header, protocol string) (_ time.Duration, ok bool, err error) {
	if protocol != connect.ProtocolNameConnect {
		if value := header.Get("Grpc-Timeout"); value != "" {
			return grpcTimeout(value)
		}
		return 0, false, nil
	}
	value := header.Get("Connect-Timeout-Ms")
	if value == "" {
		return 0, false, nil
	}
	n, parseErr := strconv.ParseInt(value, 10, 64)
	if len(value) > 10 || parseErr != nil || n < 0 {
		return 0, false, connect.Errorf(connect.CodeInvalidArgument,
			"connect-timeout-ms %q cannot be read: send at most 10 digits, a whole number of milliseconds", value)
	}
	return time.Duration(n) * time.Millisecond, true, nil
}

// grpcUnits are the units of a grpc-timeout, by their letter in "HMSmun".
var grpcUnits = [...]time.Duration{time.Hour, time.Minute, time.Second, time.Millisecond, time.Microsecond, time.Nanosecond}

// grpcTimeout reads a grpc-timeout header: up to 8 digits and a unit. One
// longer than any deadline asks for none, as connect-go reads it.
func grpcTimeout(value string) (_ time.Duration, ok bool, err error) {
	unit := -1
	if len(value) >= 2 && len(value) <= 9 {
		unit = strings.IndexByte("HMSmun", value[len(value)-1])
	}
	n, parseErr := strconv.ParseInt(value[:max(len(value)-1, 0)], 10, 64)
	if unit < 0 || parseErr != nil || n < 0 {
		return 0, false, connect.Errorf(connect.CodeInvalidArgument,
			"grpc-timeout %q cannot be read: send at most 8 digits and a unit, one of H, M, S, m, u or n", value)
	}
	if n > int64(math.MaxInt64/grpcUnits[unit]) {
		return 0, false, nil // longer than any deadline: none
	}
	return time.Duration(n) * grpcUnits[unit], true, nil
}
