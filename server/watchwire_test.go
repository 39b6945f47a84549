package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
)

// A note's frame is written straight to every watcher's stream once one
// watcher has encoded it (watchsend.go), past connect-go. These tests
// check that every wire form a watcher can ask for still gets what
// connect-go would have sent it.

// delivered is what a watcher got of one note.
type delivered struct {
	Seq     uint64
	Epoch   string
	Message string
}

// watchWire is one wire form of a watch, read to its end.
type watchWire struct {
	name string
	// next returns the next note, or the code the watch ended with.
	next func() (delivered, connect.Code, error)
	// compressed, for the text form, says which notes came compressed.
	compressed []bool
}

// TestWatchNotesEveryWireForm opens two watches in every protocol, codec
// and compression a watcher can use, over HTTP/2 and, where the protocol
// allows, HTTP/1.1, and gRPC-Web's text form by hand; posts notes, one of
// them large enough to be compressed for those that accept it; and drains
// the server. Every watch gets the same notes in order and ends with the
// server's unavailable, in its protocol's own end; the large note comes
// compressed exactly to those that accept it; the access log counts every
// note sent; and most notes went out past connect-go's Send, which the
// count of its calls shows.
func TestWatchNotesEveryWireForm(t *testing.T) {
	t.Parallel()
	logs := &recordingHandler{}
	var sends atomic.Int64
	srv, err := server.New(testFeatures,
		server.WithLogger(slog.New(logs)),
		server.WithLimits(limits.Limits{MaxNoteBytes: 4 << 10, MaxWatchesPerClient: 1000}),
		server.WithInterceptors(countWatchSends(&sends)))
	if err != nil {
		t.Fatal(err)
	}
	ts := routeguidetest.NewServer(t, srv)
	ctx := context.WithoutCancel(t.Context()) // the drain ends the watches; next bounds each wait

	var watches []*watchWire
	for _, transport := range []struct {
		name   string
		client *http.Client
	}{{"h2", routeguidetest.H2CClient()}, {"http1", routeguidetest.HTTP1Client()}} {
		for _, protocol := range []struct {
			name   string
			option []connecthttp.Option
		}{{"grpc", []connecthttp.Option{connecthttp.WithGRPC()}}, {"grpcweb", []connecthttp.Option{connecthttp.WithGRPCWeb()}}, {"connect", nil}} {
			if transport.name == "http1" && protocol.name == "grpc" {
				continue // gRPC needs HTTP/2
			}
			for _, codec := range []struct {
				name   string
				option []connecthttp.Option
			}{{"proto", nil}, {"json", []connecthttp.Option{connecthttp.WithProtoJSON()}}} {
				for _, compression := range []struct {
					name   string
					option []connecthttp.Option
				}{{"gzip", nil}, {"identity", []connecthttp.Option{connecthttp.WithCompressors()}}} {
					var options []connecthttp.Option
					options = append(options, protocol.option...)
					options = append(options, codec.option...)
					options = append(options, compression.option...)
					c := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(transport.client, ts.URL, options...)))
					for i := range 2 {
						name := fmt.Sprintf("%s/%s/%s/%s/%d", transport.name, protocol.name, codec.name, compression.name, i)
						stream, err := c.WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: proto.Uint64(0)})
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						t.Cleanup(func() { stream.Close() })
						watches = append(watches, &watchWire{name: name, next: connectNext(stream)})
					}
				}
			}
		}
	}
	for _, gzipped := range []bool{true, false} {
		for i := range 2 {
			w, err := watchText(ctx, ts.URL, gzipped)
			if err != nil {
				t.Fatal(err)
			}
			w.name = fmt.Sprintf("h2/grpcwebtext/proto/gzip=%t/%d", gzipped, i)
			watches = append(watches, w)
		}
	}

	notes := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), ts.URL, connecthttp.WithGRPC())))
	post := func(msg string) {
		t.Helper()
		if _, err := notes.PostNote(ctx, &notesv1.PostNoteRequest{Note: note(7, 7, msg)}); err != nil {
			t.Fatal(err)
		}
	}
	// The first note reaches each watch live or in its replay, from 0;
	// once every watch has it, all of them are live, and the notes after
	// it are shared among them.
	post("first")
	for _, w := range watches {
		if got, code, err := w.next(); err != nil || got.Message != "first" {
			t.Fatalf("%s: got %+v, %v (%v), want the first note", w.name, got, code, err)
		}
	}
	large := strings.Repeat("a long note, to be compressed; ", 64) // about 2 KiB
	posted := []string{"small", large, "after"}
	for _, msg := range posted {
		post(msg)
	}
	var want []delivered
	for _, w := range watches {
		var got []delivered
		for range posted {
			d, code, err := w.next()
			if err != nil {
				t.Fatalf("%s: after %d notes: %v (%v)", w.name, len(got), err, code)
			}
			got = append(got, d)
		}
		if want == nil {
			want = got
			for i, d := range got {
				if d.Message != posted[i] || (i > 0 && d.Seq <= got[i-1].Seq) || d.Epoch == "" {
					t.Fatalf("%s: got %+v, want the notes posted, in order, with an epoch", w.name, got)
				}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: notes differ from the first watch's (-want +got):\n%s", w.name, diff)
		}
		if w.compressed != nil {
			gzipped := strings.Contains(w.name, "gzip=true")
			if diff := cmp.Diff([]bool{false, gzipped, false}, w.compressed[1:]); diff != "" {
				t.Errorf("%s: which notes came compressed (-want +got):\n%s", w.name, diff)
			}
		}
	}

	srv.Drain()
	for _, w := range watches {
		if _, code, err := w.next(); code != connect.CodeUnavailable || !strings.Contains(err.Error(), "shutting down") {
			t.Errorf("%s: ended with %v (%v), want the server's unavailable", w.name, code, err)
		}
	}
	// Every watch has an access record, which counts its 4 notes, those
	// written past connect-go among them. Close waits for every handler
	// to return. (A drain's cut-off of reads can reset a stream just after
	// its end was written; the record must still say unavailable, not a
	// cancel by the client, which the access log records at most once a
	// second.)
	ts.Close()
	_, records := logs.logged("rpc")
	var counted int
	for _, r := range records {
		if r["procedure"].String() != notesv1connect.NotesServiceWatchNotesProcedure {
			continue
		}
		counted++
		if got := r["sent"].Int64(); got != int64(1+len(posted)) {
			t.Errorf("a watch's access record says %d sent, want %d", got, 1+len(posted))
		}
		if got := r["code"].String(); got != connect.CodeUnavailable.String() {
			t.Errorf("a watch's access record says code %q, want %q", got, connect.CodeUnavailable)
		}
	}
	if counted != len(watches) {
		t.Errorf("%d watches have an access record, want all %d", counted, len(watches))
	}
	// Through connect-go's Send go: a note replayed, a note to a watch
	// that gets it compressed, and each note's first encoding in each
	// codec. If every delivery went through it, it would be 4 a watch.
	deliveries := int64(len(watches) * (1 + len(posted)))
	if most := int64(2*len(watches) + 2*(1+len(posted))); sends.Load() > most {
		t.Errorf("%d of %d deliveries went through connect-go's Send, want at most %d", sends.Load(), deliveries, most)
	}
}

// connectNext returns the next function of a watch through connect-go.
func connectNext(stream notesv1connect.NotesServiceWatchNotesClientStream) func() (delivered, connect.Code, error) {
	return func() (delivered, connect.Code, error) {
		type result struct {
			res *notesv1.WatchNotesResponse
			err error
		}
		done := make(chan result, 1)
		go func() {
			res, err := stream.Receive()
			done <- result{res, err}
		}()
		select {
		case r := <-done:
			if r.err != nil {
				return delivered{}, connect.CodeOf(r.err), r.err
			}
			return delivered{r.res.GetSequence(), r.res.GetEpoch(), r.res.GetNote().GetMessage()}, 0, nil
		case <-time.After(10 * time.Second):
			return delivered{}, connect.CodeUnknown, errors.New("nothing within 10 s")
		}
	}
}

// countWatchSends counts the messages WatchNotes handlers send through
// connect-go's stream.
func countWatchSends(n *atomic.Int64) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			if spec.Procedure == notesv1connect.NotesServiceWatchNotesProcedure {
				stream = &sendCounter{stream, n}
			}
			return next(ctx, spec, stream)
		}
	}
}

type sendCounter struct {
	connect.ServerStream
	n *atomic.Int64
}

func (s *sendCounter) Send(msg any) error {
	s.n.Add(1)
	return s.ServerStream.Send(msg)
}

// watchText opens a watch in gRPC-Web's text form, which no connect-go
// client speaks, and returns it with its frames decoded as they come; with
// gzipped, it accepts gzip.
func watchText(ctx context.Context, url string, gzipped bool) (*watchWire, error) {
	req, err := proto.Marshal(&notesv1.WatchNotesRequest{AfterSequence: proto.Uint64(0)})
	if err != nil {
		return nil, err
	}
	body := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(req))))
	body += base64.StdEncoding.EncodeToString(req)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url+notesv1connect.NotesServiceWatchNotesProcedure, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/grpc-web-text")
	r.Header.Set("Accept", "application/grpc-web-text")
	r.Header.Set("X-Grpc-Web", "1")
	if gzipped {
		r.Header.Set("Grpc-Accept-Encoding", "gzip")
	}
	res, err := routeguidetest.H2CClient().Do(r)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("watch in text form: status %s", res.Status)
	}
	type frame struct {
		flags   byte
		payload []byte
		err     error
	}
	frames := make(chan frame, 16)
	go func() {
		defer res.Body.Close()
		var decoded []byte
		group := make([]byte, 4)
		for {
			// Each flush ends a padded group: the body decodes four
			// characters at a time.
			if _, err := io.ReadFull(res.Body, group); err != nil {
				frames <- frame{err: fmt.Errorf("body ended before its trailers: %w", err)}
				return
			}
			b, err := base64.StdEncoding.DecodeString(string(group))
			if err != nil {
				frames <- frame{err: err}
				return
			}
			decoded = append(decoded, b...)
			for len(decoded) >= 5 && len(decoded) >= 5+int(binary.BigEndian.Uint32(decoded[1:5])) {
				n := 5 + int(binary.BigEndian.Uint32(decoded[1:5]))
				f := frame{flags: decoded[0], payload: bytes.Clone(decoded[5:n])}
				decoded = decoded[n:]
				frames <- f
				if f.flags&0x80 != 0 {
					return
				}
			}
		}
	}()
	w := &watchWire{}
	w.next = func() (delivered, connect.Code, error) {
		var f frame
		select {
		case f = <-frames:
		case <-time.After(10 * time.Second):
			return delivered{}, connect.CodeUnknown, errors.New("nothing within 10 s")
		}
		switch {
		case f.err != nil:
			return delivered{}, connect.CodeUnknown, f.err
		case f.flags&0x80 != 0:
			trailers := string(f.payload)
			for _, line := range strings.Split(trailers, "\r\n") {
				if status, ok := strings.CutPrefix(strings.ToLower(line), "grpc-status: "); ok {
					var code connect.Code
					err := code.UnmarshalText([]byte(map[string]string{"14": "unavailable", "0": "ok"}[status]))
					return delivered{}, code, errors.Join(errors.New(trailers), err)
				}
			}
			return delivered{}, connect.CodeUnknown, fmt.Errorf("trailers without a status: %q", trailers)
		}
		payload := f.payload
		w.compressed = append(w.compressed, f.flags&1 != 0)
		if f.flags&1 != 0 {
			zr, err := gzip.NewReader(bytes.NewReader(payload))
			if err != nil {
				return delivered{}, connect.CodeUnknown, err
			}
			if payload, err = io.ReadAll(zr); err != nil {
				return delivered{}, connect.CodeUnknown, err
			}
		}
		var res notesv1.WatchNotesResponse
		if err := proto.Unmarshal(payload, &res); err != nil {
			return delivered{}, connect.CodeUnknown, err
		}
		return delivered{res.GetSequence(), res.GetEpoch(), res.GetNote().GetMessage()}, 0, nil
	}
	return w, nil
}
