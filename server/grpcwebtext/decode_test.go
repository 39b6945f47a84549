package grpcwebtext

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"connectrpc.com/connect/v2"
)

// decodeAll decodes src, reading through p of the given size.
func decodeAll(src io.Reader, size int) ([]byte, error) {
	d := newDecoder(io.NopCloser(src))
	var out []byte
	p := make([]byte, size)
	for {
		n, err := d.Read(p)
		out = append(out, p[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// chunked returns data in base64 as a client that flushes at each cut
// sends it: every chunk padded on its own.
func chunked(data []byte, cuts ...int) string {
	var b strings.Builder
	last := 0
	for _, c := range append(cuts, len(data)) {
		b.WriteString(base64.StdEncoding.EncodeToString(data[last:c]))
		last = c
	}
	return b.String()
}

func TestDecoderChunks(t *testing.T) {
	t.Parallel()
	data := []byte("\x00\x00\x00\x00\x08\x08\xd1\xc8\xf2\xe8\x01\x10\xaa\x85\xf7\xf3\xfd\xff\xff\xff\xff\x01")
	for _, tc := range []struct {
		name   string
		base64 string
	}{
		{"one chunk", chunked(data)},
		{"every byte a chunk", chunked(data, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)},
		{"uneven chunks", chunked(data, 1, 5, 7, 11, 20)},
		{"chunks of three", chunked(data, 3, 6, 9, 12, 15, 18, 21)},
		{"line breaks", strings.Join(strings.SplitAfter(chunked(data, 5), "A"), "\r\n") + "\n"},
	} {
		for _, size := range []int{1, 2, 5, 4096} {
			got, err := decodeAll(iotest.OneByteReader(strings.NewReader(tc.base64)), size)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s (%q), read %d at a time: %x, %v; want %x", tc.name, tc.base64, size, got, err, data)
			}
			got, err = decodeAll(strings.NewReader(tc.base64), size)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s (%q), in one read, read %d at a time: %x, %v; want %x", tc.name, tc.base64, size, got, err, data)
			}
		}
	}
}

func TestDecoderLarge(t *testing.T) {
	t.Parallel()
	// More than the decoder holds at once, in chunks that straddle its
	// reads.
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	var cuts []int
	for c := r.IntN(5000); c < len(data); c += 1 + r.IntN(5000) {
		cuts = append(cuts, c)
	}
	encoded := chunked(data, cuts...)
	got, err := decodeAll(iotest.HalfReader(strings.NewReader(encoded)), 1000)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decoded %d bytes, %v; want the %d bytes encoded", len(got), err, len(data))
	}
	if err := iotest.TestReader(newDecoder(io.NopCloser(strings.NewReader(encoded))), data); err != nil {
		t.Fatal(err)
	}
}

func TestDecoderEmpty(t *testing.T) {
	t.Parallel()
	got, err := decodeAll(strings.NewReader(""), 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty input: %x, %v; want nothing and no error", got, err)
	}
}

func TestDecoderBadBase64(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base64 string
		want   string // in the error message
	}{
		{"A", "has only 1"},
		{"AAAAAB", "has only 2"},
		{"AAAAABC", "has only 3"},
		{"A===", "at character 1"},
		{"=AAA", "at character 0"},
		{"AA=A", "at character 2"},
		{"AAAAAA=A", "at character 6"},
		{"AB!D", "at character 2"},
		{"AB-_", "at character 2"}, // the URL alphabet
		{"AAAA AAAA", "at character 4"},
		{"AAAA\tAAA", "at character 4"},
		{"AAAA\x00AAA", "at character 4"},
		{"AA==\nAA=A\n", "at character 6"},
	} {
		_, err := decodeAll(strings.NewReader(tc.base64), 64)
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !errors.Is(err, errBadBase64) ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want invalid_argument saying %q", tc.base64, err, tc.want)
		}
	}
}

func TestDecoderPassesReadErrors(t *testing.T) {
	t.Parallel()
	errBroken := errors.New("connection broken")
	src := io.MultiReader(strings.NewReader("AAAA"), iotest.ErrReader(errBroken))
	got, err := decodeAll(src, 64)
	if !errors.Is(err, errBroken) || connect.CodeOf(err) == connect.CodeInvalidArgument {
		t.Errorf("error %v, want the source's own error, not the client's mistake", err)
	}
	if !bytes.Equal(got, []byte{0, 0, 0}) {
		t.Errorf("decoded %x before the error, want 000000", got)
	}
}

// referenceDecode decodes base64 one group of four at a time, as gRPC-Web
// chunks allow, ignoring line breaks: the definition the decoder must meet.
func referenceDecode(in []byte) ([]byte, bool) {
	in = bytes.ReplaceAll(bytes.ReplaceAll(in, []byte("\r"), nil), []byte("\n"), nil)
	if len(in)%4 != 0 {
		return nil, false
	}
	var out []byte
	for group := range slices.Chunk(in, 4) {
		b, err := base64.StdEncoding.DecodeString(string(group))
		if err != nil {
			return nil, false
		}
		out = append(out, b...)
	}
	return out, true
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte("AAAAAAgI0cjy6AEQqoX38/3/////AQ=="), uint8(7))
	f.Add([]byte("AA==AA==AAA="), uint8(1))
	f.Add([]byte("AAAA\r\nAA=="), uint8(3))
	f.Add([]byte("A"), uint8(0))
	f.Add([]byte("AA=A"), uint8(2))
	f.Add([]byte("AB-_"), uint8(200))
	f.Add([]byte(""), uint8(5))
	f.Fuzz(func(t *testing.T, in []byte, size uint8) {
		// size varies how the decoder is read, and how its source is.
		var src io.Reader = bytes.NewReader(in)
		if size%2 == 1 {
			src = iotest.OneByteReader(src)
		}
		got, err := decodeAll(src, 1+int(size))
		want, ok := referenceDecode(in)
		if ok {
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%q: decoded %x, %v; want %x", in, got, err, want)
			}
			return
		}
		if err == nil || connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Fatalf("%q: decoded %x, %v; want an invalid_argument error", in, got, err)
		}
		if len(got) > len(in) {
			t.Fatalf("%q: decoded %d bytes from %d characters", in, len(got), len(in))
		}
	})
}
