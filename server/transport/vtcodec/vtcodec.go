// Package vtcodec is connect-go's binary protobuf codec made faster for
// messages generated with vtprotobuf's marshal and size features (gen/ has
// them): they are encoded by generated code instead of by reflection over
// their descriptors. Other messages, such as those of
// health checking and reflection, go through the protobuf runtime as
// before. The bytes on the wire are the same either way.
package vtcodec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/connect/v2/connectproto"
	"google.golang.org/protobuf/proto"
)

// Option returns the handler and client option that puts the codec in
// place of connect-go's own "proto" codec, beside connect-go's JSON codec,
// which is left as it is.
func Option() connecthttp.Option {
	return connecthttp.WithCodecs(Codec{}, connectproto.NewJSONCodec())
}

// vtMessage is what vtprotobuf generates for a message.
type vtMessage interface {
	proto.Message
	SizeVT() int
	MarshalToSizedBufferVT([]byte) (int, error)
}

// Codec is connect-go's "proto" codec, through vtprotobuf's generated code
// where a message has it. The zero Codec is ready to use.
type Codec struct{}

var _ connect.StableCodec = Codec{}

// Name returns "proto", the name of the codec it replaces.
func (Codec) Name() string { return "proto" }

// Marshal returns the wire form of message, which must be a proto.Message.
func (c Codec) Marshal(message any) ([]byte, error) {
	return c.MarshalAppend(nil, message)
}

// MarshalAppend appends the wire form of message to dst: connect-go passes
// a pooled buffer, so a message costs no allocation.
func (Codec) MarshalAppend(dst []byte, message any) ([]byte, error) {
	m, ok := message.(vtMessage)
	if !ok {
		pm, ok := message.(proto.Message)
		if !ok {
			return nil, errNotProto(message)
		}
		return proto.MarshalOptions{}.MarshalAppend(dst, pm)
	}
	start, size := len(dst), m.SizeVT()
	dst = slices.Grow(dst, size)[:start+size]
	if _, err := m.MarshalToSizedBufferVT(dst[start:]); err != nil {
		return nil, fmt.Errorf("marshal %T: %w", message, err)
	}
	return dst, nil
}

// appender is what connect-go's writers offer beyond io.Writer: the room
// left in their buffer, so that a message is encoded in place.
type appender interface {
	AvailableBuffer() []byte
	Grow(int)
}

// MarshalWrite writes the wire form of message to dst, encoded straight
// into dst's buffer where dst has one, as connect-go's writers do.
func (c Codec) MarshalWrite(_ context.Context, dst io.Writer, message any) error {
	var buf []byte
	if a, ok := dst.(appender); ok {
		if m, ok := message.(vtMessage); ok {
			a.Grow(m.SizeVT())
		}
		buf = a.AvailableBuffer()
	}
	out, err := c.MarshalAppend(buf, message)
	if err != nil {
		return err
	}
	_, err = dst.Write(out)
	return err
}

// UnmarshalRead decodes the message src holds into message.
func (c Codec) UnmarshalRead(_ context.Context, src io.Reader, message any) error {
	if b, ok := src.(*bytes.Buffer); ok {
		return c.Unmarshal(b.Bytes(), message)
	}
	data, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	return c.Unmarshal(data, message)
}

// MarshalWriteStable writes the deterministic wire form of message to dst,
// for connect-go's GET requests.
func (c Codec) MarshalWriteStable(_ context.Context, dst io.Writer, message any) error {
	data, err := c.MarshalStable(message)
	if err != nil {
		return err
	}
	_, err = dst.Write(data)
	return err
}

// Unmarshal decodes data into message, which must be a proto.Message, with
// the protobuf runtime. vtprotobuf's generated decoder (v0.6) differs from
// it on bad input: it accepts strings that are not UTF-8 and unterminated
// groups, and refuses a field whose wire type is not its own, which the
// runtime keeps as unknown. Requests are a few bytes, so the runtime's
// decoder costs little.
func (Codec) Unmarshal(data []byte, message any) error {
	pm, ok := message.(proto.Message)
	if !ok {
		return errNotProto(message)
	}
	if err := proto.Unmarshal(data, pm); err != nil {
		return fmt.Errorf("unmarshal into %T: %w", message, err)
	}
	return nil
}

// MarshalStable returns the deterministic wire form of message, for
// connect-go's GET requests, as connect-go's own codec does.
func (Codec) MarshalStable(message any) ([]byte, error) {
	pm, ok := message.(proto.Message)
	if !ok {
		return nil, errNotProto(message)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(pm)
}

// IsBinary reports true: the codec's output is not text.
func (Codec) IsBinary() bool { return true }

func errNotProto(message any) error {
	return fmt.Errorf("%T is not a proto.Message", message)
}
