package prepared_test

import (
	"bytes"
	"context"
	"testing"

	"connectrpc.com/connect/v2/connectproto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/routeguide/routeguide/server/transport/prepared"
)

// TestCodecWritesPreparedBytes: a marked message is written as its
// Encoder says, once per codec name asked; unmarked, or once detached, it
// is encoded as the wrapped codec does.
func TestCodecWritesPreparedBytes(t *testing.T) {
	t.Parallel()
	codec := prepared.Codec(&connectproto.BinaryCodec{})
	msg := wrapperspb.String("hello")
	plain := func() []byte {
		var buf bytes.Buffer
		if err := codec.MarshalWrite(context.Background(), &buf, msg); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	want := plain()

	slot := prepared.Attach(msg)
	var asked []string
	slot.Set(func(name string, marshal func() ([]byte, error)) ([]byte, error) {
		asked = append(asked, name)
		data, err := marshal()
		if !bytes.Equal(data, want) {
			t.Errorf("marshal() = %x, want the wrapped codec's %x", data, want)
		}
		return []byte("prepared"), err
	})
	if got := plain(); string(got) != "prepared" {
		t.Errorf("marked message written as %q, want the prepared bytes", got)
	}
	if len(asked) != 1 || asked[0] != "proto" {
		t.Errorf("Encoder asked for %q, want [proto]", asked)
	}
	other := wrapperspb.String("hello")
	var buf bytes.Buffer
	if err := codec.MarshalWrite(context.Background(), &buf, other); err != nil || !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("an unmarked message: %x, %v; want %x", buf.Bytes(), err, want)
	}
	slot.Detach()
	if got := plain(); !bytes.Equal(got, want) {
		t.Errorf("detached message written as %q, want it encoded", got)
	}
}
