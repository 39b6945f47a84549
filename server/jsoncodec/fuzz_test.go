package jsoncodec

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// FuzzUnmarshal checks that no input makes the codec panic, that strict
// decoding accepts only what lenient decoding reads the same way, and that
// a refusal blamed on an unknown field is one lenient decoding accepts.
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range []string{
		`{"latitude":1,"longitude":2}`, `{"latitud":1}`, `{"lo":{"lat":1},"hi":{}}`,
		`{"note":{"mesage":"x"}}`, `{"latitude":1.5}`, `[]`, `{"lo":[1]}`, `{"location":{"x":{"y":1}}}`,
	} {
		f.Add(seed)
	}
	type lenientKey struct{}
	codec := New(func(ctx context.Context) bool { return ctx.Value(lenientKey{}) != nil }, "ask")
	lenientCtx := context.WithValue(context.Background(), lenientKey{}, true)
	f.Fuzz(func(t *testing.T, input string) {
		for _, newMsg := range []func() proto.Message{
			func() proto.Message { return &routeguide.Rectangle{} },
			func() proto.Message { return &routeguide.RouteNote{} },
		} {
			strict, lenient := newMsg(), newMsg()
			strictErr := codec.UnmarshalRead(context.Background(), bytes.NewReader([]byte(input)), strict)
			lenientErr := codec.UnmarshalRead(lenientCtx, bytes.NewReader([]byte(input)), lenient)
			if strictErr == nil && (lenientErr != nil || !proto.Equal(strict, lenient)) {
				t.Fatalf("strict read %q as %v; lenient: %v, %v", input, strict, lenient, lenientErr)
			}
			if errors.Is(strictErr, errUnknownField) && lenientErr != nil {
				t.Fatalf("%q refused for an unknown field (%v), but lenient decoding fails too: %v", input, strictErr, lenientErr)
			}
		}
	})
}
