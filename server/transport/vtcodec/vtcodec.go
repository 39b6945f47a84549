// Package vtcodec is connect-go's binary protobuf codec made faster for
// messages generated with vtprotobuf's marshal and size features (gen/ has
// them): they are encoded by generated code instead of by reflection over
// their descriptors. Other messages, such as those of
// health checking and reflection, go through the protobuf runtime as
// before. The bytes on the wire are the same either way.
package vtcodec

import (
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
)

// Option returns the handler and client option that puts the codec in
// place of connect-go's own "proto" codec. JSON is left as it is.
func Option() connect.Option {
	return connect.WithCodec(Codec{})
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

var _ connect.Codec = Codec{}

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
	size := m.SizeVT()
	start := len(dst)
	dst = growLen(dst, size)
	if _, err := m.MarshalToSizedBufferVT(dst[start:]); err != nil {
		return nil, fmt.Errorf("marshal %T: %w", message, err)
	}
	return dst, nil
}

// growLen returns dst lengthened by n bytes.
func growLen(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), max(2*cap(dst), len(dst)+n))
		copy(grown, dst)
		dst = grown
	}
	return dst[:len(dst)+n]
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
