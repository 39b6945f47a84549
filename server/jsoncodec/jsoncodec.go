// Package jsoncodec is the server's JSON codec: protobuf's JSON mapping,
// strict about the names of fields. connect-go's own JSON codec drops a
// field it does not know, so a misspelt field ("latitud") is read as an
// unset one and the call answers 200 with a default; here it is refused
// with invalid_argument, naming the field and the fields there are, as
// grpcurl and buf curl refuse it on their side. A caller that sends fields
// this server may not know on purpose, such as a client built from a newer
// schema, asks for them to be ignored; how it asks is the server's to say
// (routeguide-server: the header Routeguide-Json-Unknown-Fields: ignore).
package jsoncodec

import (
	"bytes"
	"context"
	"errors"
	"io"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connectproto"
)

// Codec reads and writes protobuf's JSON mapping. Its zero value is not
// ready: use [New].
type Codec struct {
	// JSONCodec is strict: it writes, and reads unless the call asks for
	// leniency.
	*connectproto.JSONCodec
	lenient *connectproto.JSONCodec
	// asksLenient reports whether the call of a context asked for
	// unknown fields to be ignored.
	asksLenient func(context.Context) bool
	// howToAsk says, in a refusal, how a caller asks for leniency.
	howToAsk string
}

var _ connect.StableCodec = (*Codec)(nil)

// New returns a Codec that refuses unknown fields unless asksLenient,
// given the context of the call being served, reports that its caller
// asked for them to be ignored; howToAsk, such as "send the header X: y",
// completes refusals.
func New(asksLenient func(context.Context) bool, howToAsk string) *Codec {
	strict := connectproto.NewJSONCodec()
	strict.UnmarshalOptions.DiscardUnknown = false
	return &Codec{JSONCodec: strict, lenient: connectproto.NewJSONCodec(), asksLenient: asksLenient, howToAsk: howToAsk}
}

// UnmarshalRead decodes the JSON src holds into msg. An error says which
// field is wrong, where, and what would be right.
func (c *Codec) UnmarshalRead(ctx context.Context, src io.Reader, msg any) error {
	if c.asksLenient(ctx) {
		return c.lenient.UnmarshalRead(ctx, src, msg)
	}
	// The input is kept so that a refusal can be explained; protojson
	// reads it all before decoding anyway.
	data, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	err = c.JSONCodec.UnmarshalRead(ctx, bytes.NewReader(data), msg)
	if err == nil {
		return nil
	}
	return c.explain(ctx, data, msg, err)
}

// errUnknownField marks a refusal of a field the message does not have.
var errUnknownField = errors.New("unknown field")
