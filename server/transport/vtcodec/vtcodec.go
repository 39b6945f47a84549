// Package vtcodec is connect-go's binary protobuf codec made faster for
// messages generated with vtprotobuf's marshal and size features (gen/ has
// them), which generated code encodes instead of reflection. Other
// messages, such as those of health checking and reflection, go through
// the protobuf runtime. The bytes on the wire are the same either way.
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

// appender is what connect-go's writers offer beyond io.Writer: the room
// left in their buffer, so that a message is encoded in place.
type appender interface {
	AvailableBuffer() []byte
	Grow(int)
}

// MarshalWrite writes the wire form of message, a proto.Message, to dst,
// straight into dst's buffer where it has one, as connect-go's pooled
// writers do: a message then costs no allocation.
func (Codec) MarshalWrite(_ context.Context, dst io.Writer, message any) error {
	pm, ok := message.(proto.Message)
	if !ok {
		return errNotProto(message)
	}
	m, vt := message.(vtMessage)
	size := 0
	if vt {
		size = m.SizeVT() // once: it walks the whole message
	}
	var buf []byte
	if a, ok := dst.(appender); ok {
		a.Grow(size)
		buf = a.AvailableBuffer()
	}
	var err error
	if vt {
		buf = slices.Grow(buf, size)[:size]
		if _, err = m.MarshalToSizedBufferVT(buf); err != nil {
			return fmt.Errorf("marshal %T: %w", message, err)
		}
	} else if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf, pm); err != nil {
		return err
	}
	_, err = dst.Write(buf)
	return err
}

// UnmarshalRead decodes the message src holds into message, which must be
// a proto.Message, with the protobuf runtime. vtprotobuf's generated
// decoder (v0.6) differs from it on bad input: it accepts strings that are
// not UTF-8 and unterminated groups, and refuses a field whose wire type is
// not its own, which the runtime keeps as unknown. Requests are a few
// bytes, so the runtime's decoder costs little.
func (Codec) UnmarshalRead(_ context.Context, src io.Reader, message any) error {
	pm, ok := message.(proto.Message)
	if !ok {
		return errNotProto(message)
	}
	b, ok := src.(*bytes.Buffer)
	if !ok {
		b = new(bytes.Buffer)
		if _, err := b.ReadFrom(src); err != nil {
			return err
		}
	}
	if err := proto.Unmarshal(b.Bytes(), pm); err != nil {
		return fmt.Errorf("unmarshal into %T: %w", message, err)
	}
	return nil
}

// MarshalWriteStable writes the deterministic wire form of message to dst,
// for connect-go's GET requests, as connect-go's own codec does.
func (Codec) MarshalWriteStable(_ context.Context, dst io.Writer, message any) error {
	pm, ok := message.(proto.Message)
	if !ok {
		return errNotProto(message)
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(pm)
	if err != nil {
		return err
	}
	_, err = dst.Write(data)
	return err
}

// IsBinary reports true: the codec's output is not text.
func (Codec) IsBinary() bool { return true }

func errNotProto(message any) error {
	return fmt.Errorf("%T is not a proto.Message", message)
}
