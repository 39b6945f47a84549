package vtcodec_test

import (
	"bytes"
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

// TestSameBytesAsProtoMarshal checks that the codec's wire form is the
// protobuf runtime's, byte for byte, and decodes to the same message.
func TestSameBytesAsProtoMarshal(t *testing.T) {
	t.Parallel()
	var c vtcodec.Codec
	prefix := []byte("envelope")
	for _, m := range messages() {
		want, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", m, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Marshal(%v) = %x, proto.Marshal gives %x", m, got, want)
		}
		appended, err := c.MarshalAppend(bytes.Clone(prefix), m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(appended, append(bytes.Clone(prefix), want...)) {
			t.Fatalf("MarshalAppend(%v) = %x, want the prefix and %x", m, appended, want)
		}
		// Into a message holding something else: decoding replaces it.
		decoded := m.ProtoReflect().New().Interface()
		if err := c.Unmarshal(mustMarshal(t, messages()[1]), decoded); err != nil && decoded.ProtoReflect().Descriptor() == messages()[1].ProtoReflect().Descriptor() {
			t.Fatal(err)
		}
		if err := c.Unmarshal(want, decoded); err != nil {
			t.Fatalf("Unmarshal(%x) into %T: %v", want, decoded, err)
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
	if err := (vtcodec.Codec{}).Unmarshal(data, &routeguide.RouteNote{}); err == nil {
		t.Error("Unmarshal accepted a note whose text is not UTF-8")
	}
}

func TestNotProto(t *testing.T) {
	t.Parallel()
	var c vtcodec.Codec
	if _, err := c.Marshal("a string"); err == nil {
		t.Error("Marshal accepted a string")
	}
	if err := c.Unmarshal(nil, new(string)); err == nil {
		t.Error("Unmarshal accepted a *string")
	}
}

// FuzzUnmarshal checks that the codec decodes whatever the protobuf runtime
// decodes, to the same message, and refuses what it refuses: vtprotobuf's
// generated decoder does not (see Codec.Unmarshal), and must not creep in.
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
			gotErr := vtcodec.Codec{}.Unmarshal(data, got)
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
	buf := make([]byte, 0, 512)
	b.Run("proto", func(b *testing.B) {
		for b.Loop() {
			buf, _ = proto.MarshalOptions{}.MarshalAppend(buf[:0], f)
		}
	})
	b.Run("vtcodec", func(b *testing.B) {
		for b.Loop() {
			buf, _ = vtcodec.Codec{}.MarshalAppend(buf[:0], f)
		}
	})
}
