package vtcodec_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	healthv1 "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/transport/vtcodec"
)

func messages() []proto.Message {
	r := rand.New(rand.NewPCG(1, 2))
	point := func() *routeguide.Point {
		return &routeguide.Point{Latitude: r.Int32() - math.MaxInt32/2, Longitude: -r.Int32()}
	}
	ms := []proto.Message{
		&routeguide.Point{},
		&routeguide.Point{Latitude: math.MinInt32, Longitude: math.MaxInt32},
		&routeguide.Feature{},
		&routeguide.Feature{Location: &routeguide.Point{}}, // an empty message field is still sent
		&routeguide.Feature{Name: "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"},
		&routeguide.Rectangle{Lo: point()},
		&routeguide.RouteNote{Message: "héllo, 世界"},
		&routeguide.RouteSummary{PointCount: 1, FeatureCount: -1, Distance: math.MaxInt32, ElapsedTime: 7},
		&healthv1.HealthCheckRequest{Service: "routeguide.RouteGuide"}, // no generated fast path
	}
	for i := range 200 {
		ms = append(ms,
			&routeguide.Feature{Name: strings.Repeat("n", i), Location: point()},
			&routeguide.Rectangle{Lo: point(), Hi: point()},
			&routeguide.RouteNote{Location: point(), Message: strings.Repeat("m", i*7)},
		)
	}
	return ms
}

// marshal appends the wire form of m to prefix through the codec, into a
// writer with a buffer of its own, as connect-go's are, when buffered, and
// otherwise into a plain io.Writer.
func marshal(prefix []byte, m any, buffered bool) ([]byte, error) {
	buf := bytes.NewBuffer(bytes.Clone(prefix))
	var w io.Writer = buf
	if !buffered {
		w = struct{ io.Writer }{buf}
	}
	err := vtcodec.Codec{}.MarshalWrite(context.Background(), w, m)
	return buf.Bytes(), err
}

// unmarshal decodes data into m through the codec, from a *bytes.Buffer as
// connect-go passes it, or from a plain io.Reader.
func unmarshal(data []byte, m any, buffered bool) error {
	var r io.Reader = bytes.NewBuffer(data)
	if !buffered {
		r = bytes.NewReader(data)
	}
	return vtcodec.Codec{}.UnmarshalRead(context.Background(), r, m)
}

// TestSameBytesAsProtoMarshal checks that the codec's wire form is the
// protobuf runtime's, byte for byte, and decodes to the same message.
func TestSameBytesAsProtoMarshal(t *testing.T) {
	t.Parallel()
	prefix := []byte("envelope")
	for i, m := range messages() {
		want, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshal(nil, m, false)
		if err != nil {
			t.Fatalf("MarshalWrite(%v): %v", m, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("MarshalWrite(%v) = %x, proto.Marshal gives %x", m, got, want)
		}
		appended, err := marshal(prefix, m, true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(appended, append(bytes.Clone(prefix), want...)) {
			t.Fatalf("MarshalWrite(%v) into a buffer = %x, want the prefix and %x", m, appended, want)
		}
		// Into a message holding something else: decoding replaces it.
		buffered := i%2 == 0
		decoded := m.ProtoReflect().New().Interface()
		if err := unmarshal(mustMarshal(t, messages()[1]), decoded, buffered); err != nil && decoded.ProtoReflect().Descriptor() == messages()[1].ProtoReflect().Descriptor() {
			t.Fatal(err)
		}
		if err := unmarshal(want, decoded, buffered); err != nil {
			t.Fatalf("UnmarshalRead(%x) into %T: %v", want, decoded, err)
		}
		if diff := cmp.Diff(m, decoded, protocmp.Transform()); diff != "" {
			t.Fatalf("decoded message differs (-sent +decoded):\n%s", diff)
		}
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestInvalidUTF8Refused checks that a note whose text is not UTF-8 is
// refused, as the protobuf runtime refuses it.
func TestInvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	// Field 2 (message), length 2, bytes that are not UTF-8.
	data := []byte{0x12, 0x02, 0xff, 0xfe}
	if err := proto.Unmarshal(data, &routeguide.RouteNote{}); err == nil {
		t.Fatal("the protobuf runtime accepts invalid UTF-8; the test is wrong")
	}
	if err := unmarshal(data, &routeguide.RouteNote{}, true); err == nil {
		t.Error("UnmarshalRead accepted a note whose text is not UTF-8")
	}
}

func TestNotProto(t *testing.T) {
	t.Parallel()
	if _, err := marshal(nil, "a string", true); err == nil {
		t.Error("MarshalWrite accepted a string")
	}
	if err := (vtcodec.Codec{}).MarshalWriteStable(t.Context(), io.Discard, "a string"); err == nil {
		t.Error("MarshalWriteStable accepted a string")
	}
	if err := unmarshal(nil, new(string), true); err == nil {
		t.Error("UnmarshalRead accepted a *string")
	}
}

// FuzzUnmarshal checks that the codec decodes whatever the protobuf runtime
// decodes, to the same message, and refuses what it refuses: vtprotobuf's
// generated decoder does not (see Codec.UnmarshalRead), and must not creep in.
func FuzzUnmarshal(f *testing.F) {
	for _, m := range messages()[:9] {
		data, _ := proto.Marshal(m)
		f.Add(data)
	}
	f.Add([]byte{0x12, 0x02, 0xff, 0xfe})
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []proto.Message{&routeguide.Point{}, &routeguide.Rectangle{}, &routeguide.RouteNote{}, &routeguide.Feature{}} {
			want := m.ProtoReflect().New().Interface()
			wantErr := proto.Unmarshal(data, want)
			got := m.ProtoReflect().New().Interface()
			gotErr := unmarshal(data, got, true)
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("%T from %x: codec error %v, runtime error %v", m, data, gotErr, wantErr)
			}
			if wantErr == nil && !proto.Equal(got, want) {
				t.Fatalf("%T from %x: codec gives %v, runtime %v", m, data, got, want)
			}
		}
	})
}

// BenchmarkMarshalFeature compares the codec with the protobuf runtime on
// the message ListFeatures sends.
//
//	go test -run '^$' -bench . -benchmem ./server/transport/vtcodec/
func BenchmarkMarshalFeature(b *testing.B) {
	f := &routeguide.Feature{Name: "Berkshire Valley Management Area Trail, Jefferson, NJ, USA",
		Location: &routeguide.Point{Latitude: 409146138, Longitude: -746188906}}
	buf := bytes.NewBuffer(make([]byte, 0, 512))
	b.Run("proto", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			out, _ := proto.MarshalOptions{}.MarshalAppend(buf.AvailableBuffer(), f)
			buf.Write(out)
		}
	})
	b.Run("vtcodec", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			_ = vtcodec.Codec{}.MarshalWrite(b.Context(), buf, f)
		}
	})
}
