// Package jsoncodec is the server's JSON codec: protobuf's JSON mapping,
// strict about the names of fields. connect-go's own JSON codec drops a
// field it does not know, so a misspelt field ("latitud") is read as an
// unset one and the call answers 200 with a default; here it is refused
// with invalid_argument, naming the field and the fields there are, as
// grpcurl and buf curl refuse it on their side. A caller that sends fields
// this server may not know on purpose, such as a client built from a newer
// schema, asks for them to be ignored with the header [LenientHeader].
package jsoncodec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connectproto"
)

// LenientHeader is the request header by which a caller asks that JSON
// fields this server does not know be ignored, as protobuf's binary form
// ignores them, rather than refused. Its value must be [LenientValue].
const (
	LenientHeader = "Routeguide-Json-Unknown-Fields"
	LenientValue  = "ignore"
)

// Codec reads and writes protobuf's JSON mapping. Its zero value is not
// ready: use [New].
type Codec struct {
	strict  *connectproto.JSONCodec
	lenient *connectproto.JSONCodec
}

var _ connect.StableCodec = (*Codec)(nil)

// New returns a Codec that refuses unknown fields unless the call's
// request carries [LenientHeader].
func New() *Codec {
	strict := connectproto.NewJSONCodec()
	strict.UnmarshalOptions.DiscardUnknown = false
	return &Codec{strict: strict, lenient: connectproto.NewJSONCodec()}
}

// Name returns "json".
func (c *Codec) Name() string { return c.strict.Name() }

// IsBinary returns false.
func (c *Codec) IsBinary() bool { return false }

// MarshalWrite writes msg as JSON.
func (c *Codec) MarshalWrite(ctx context.Context, dst io.Writer, msg any) error {
	return c.strict.MarshalWrite(ctx, dst, msg)
}

// MarshalWriteStable writes msg as compact JSON, the same for equal
// messages.
func (c *Codec) MarshalWriteStable(ctx context.Context, dst io.Writer, msg any) error {
	return c.strict.MarshalWriteStable(ctx, dst, msg)
}

// UnmarshalRead decodes the JSON src holds into msg. An error says which
// field is wrong, where, and what would be right.
func (c *Codec) UnmarshalRead(ctx context.Context, src io.Reader, msg any) error {
	if lenient(ctx) {
		return c.lenient.UnmarshalRead(ctx, src, msg)
	}
	// The input is kept so that a refusal can be explained; protojson
	// reads it all before decoding anyway.
	data, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	err = c.strict.UnmarshalRead(ctx, bytes.NewReader(data), msg)
	if err == nil {
		return nil
	}
	return explain(data, msg, err)
}

type lenientKey struct{}

// Handler passes a call's wish for leniency, its [LenientHeader], to the
// codec, which sees only the request's context. Requests without the
// header pass unchanged.
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(LenientHeader); v != "" && strings.EqualFold(v, LenientValue) {
			r = r.WithContext(context.WithValue(r.Context(), lenientKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

// lenient reports whether the call being served asked for unknown fields
// to be ignored.
func lenient(ctx context.Context) bool {
	v, _ := ctx.Value(lenientKey{}).(bool)
	return v
}

// errUnknownField marks a refusal of a field the message does not have.
var errUnknownField = errors.New("unknown field")
