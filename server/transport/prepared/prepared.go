// Package prepared lets a handler send, on many streams, a message it has
// encoded once, as grpc-go's PreparedMsg does: a codec wrapper writes the
// bytes a handler prepared for a message instead of encoding the message
// again. connect-go's generated streams take only their own message type,
// so the handler marks the message value it sends, not a type of its own.
package prepared

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"

	"connectrpc.com/connect/v2"
)

// Encoder returns the wire form of a message in the given codec's
// encoding, typically cached across the streams that send it, calling
// marshal, which encodes it as the codec would, only when it has no copy.
type Encoder func(codec string, marshal func() ([]byte, error)) ([]byte, error)

// Slot marks one message value, which a handler reuses for every send of
// a stream, as prepared. Get one with [Attach]. Its methods must be called
// from the goroutine that sends the message: connect-go encodes a message
// within Send.
type Slot struct {
	msg    any
	encode Encoder // nil: encode the message as usual
	// marshal encodes msg with codec under ctx, which a send sets for
	// its call of encode: made once, so that a send allocates no closure.
	marshal func() ([]byte, error)
	codec   connect.StableCodec
	ctx     context.Context
}

var (
	slots    sync.Map // message value -> *Slot
	attached atomic.Int64
)

// Attach marks msg, a pointer to a message, so that the codecs of [Codec]
// write what the slot's Encoder returns for it. The caller must call
// Detach once it no longer sends msg.
func Attach(msg any) *Slot {
	s := &Slot{msg: msg}
	s.marshal = s.marshalNow
	slots.Store(msg, s)
	attached.Add(1)
	return s
}

// Set sets what the next sends of the message write: encode's result for
// the codec of the stream. A nil encode has the message encoded as usual.
func (s *Slot) Set(encode Encoder) {
	s.encode = encode
}

func (s *Slot) marshalNow() ([]byte, error) {
	var buf bytes.Buffer
	if err := s.codec.MarshalWrite(s.ctx, &buf, s.msg); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Detach unmarks the message.
func (s *Slot) Detach() {
	slots.Delete(s.msg)
	attached.Add(-1)
}

// Codec wraps c so that it writes the prepared bytes of a message marked
// with [Attach], and encodes every other message as c does.
func Codec(c connect.StableCodec) connect.StableCodec {
	return codec{c}
}

type codec struct {
	connect.StableCodec
}

// MarshalWrite writes the prepared bytes of msg, if it has them.
func (c codec) MarshalWrite(ctx context.Context, dst io.Writer, msg any) error {
	if attached.Load() > 0 {
		if v, ok := slots.Load(msg); ok {
			if s := v.(*Slot); s.encode != nil {
				s.codec, s.ctx = c.StableCodec, ctx
				data, err := s.encode(c.Name(), s.marshal)
				s.codec, s.ctx = nil, nil
				if err != nil {
					return err
				}
				_, err = dst.Write(data)
				return err
			}
		}
	}
	return c.StableCodec.MarshalWrite(ctx, dst, msg)
}
