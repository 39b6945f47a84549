// Command ceiling-server measures the most any handler on Go's net/http
// HTTP/2 server can do here: it answers GetFeature and ListFeatures over
// h2c with gRPC responses built once at start, and never flushes, so all
// that is left is net/http's own cost. With -batch, its connections gather
// their writes as routeguide-server's do (server/transport/batchconn): the
// ceiling that raises. It also serves the floor of a notes fan-out,
// NotesService's PostNote and WatchNotes with one prebuilt frame per note
// written and flushed to every watcher (fanout.go), for watch-load. It is a
// yardstick for BENCHMARKS.md, not a server.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/bench/internal/benchserver"
	"github.com/routeguide/routeguide/server/dataset"
)

func main() { benchserver.Main("ceiling-server", run) }

func run(ctx context.Context, args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("ceiling-server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var opts benchserver.Flags
	opts.Define(flags, "JSON dataset `file`: ListFeatures answers with all of it")
	batch := flags.Bool("batch", false, "gather each connection's writes into fewer system calls")
	waves := flags.Bool("waves", false, "wake WatchNotes watchers in waves, as routeguide-server does, so that a poster's answer comes first")
	pprofAddr := flags.String("pprof-addr", "", "`address` to serve /debug/pprof/ on, to profile the floor beside the server (default: none)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *pprofAddr != "" {
		// A listener of its own: the floor's mux stays what it measures.
		profiles := http.NewServeMux()
		profiles.HandleFunc("/debug/pprof/", pprof.Index)
		profiles.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go http.ListenAndServe(*pprofAddr, profiles)
	}
	features, err := dataset.Open(opts.Features)
	if err != nil {
		return err
	}
	one, err := envelope(features[len(features)/2])
	if err != nil {
		return err
	}
	var all []byte
	for _, f := range features {
		e, err := envelope(f)
		if err != nil {
			return err
		}
		all = append(all, e...)
	}
	// The paths are spelt out rather than taken from the generated connect
	// code, so that the ceiling depends on no part of connect-go.
	mux := http.NewServeMux()
	mux.Handle("/routeguide.RouteGuide/GetFeature", answer(one))
	mux.Handle("/routeguide.RouteGuide/ListFeatures", answer(all))
	serveFanOut(mux, *waves)
	httpServer := benchserver.H2C(mux)
	listener, err := benchserver.Listen(opts.Addr, *batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ceiling-server listening addr=%s features=%d\n", listener.Addr(), len(features))
	go func() {
		<-ctx.Done()
		httpServer.Close()
	}()
	return httpServer.Serve(listener)
}

// answer reads the request and replies with body and an OK status, as
// little work as a valid gRPC response allows.
func answer(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"application/grpc"}
		w.Write(body)
		h[http.TrailerPrefix+"Grpc-Status"] = []string{"0"}
	})
}

func envelope(m proto.Message) ([]byte, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(data))), data...), nil
}
