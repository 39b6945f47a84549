// Command reference-server is the yardstick of BENCHMARKS.md: RouteGuide on
// grpc-go with the behaviour of the grpc-go tutorial's server, linear scans
// of the dataset for every GetFeature, ListFeatures and RecordRoute point,
// and the live-notes API (NotesService) as a grpc-go expert would write it:
// each note encoded once and sent to every matching watcher (see notes.go).
// It is written here for the benchmarks and is not part of the product.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	notesv1 "github.com/routeguide/routeguide/bench/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/bench/internal/benchserver"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/dataset"
)

func main() { benchserver.Main("reference-server", run) }

func run(ctx context.Context, args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("reference-server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var opts benchserver.Flags
	opts.Define(flags, "JSON dataset `file` (default: the embedded dataset)")
	var limits hubLimits
	flags.IntVar(&limits.buffer, "watch-buffer", 256, "`notes` a watcher may fall behind before it is cut off")
	flags.IntVar(&limits.maxReplay, "max-replay", 1000, "a resuming watcher is replayed the notes among the last `n` sequences")
	flags.IntVar(&limits.perLocation, "max-notes-per-location", 100, "`notes` a location keeps for PostNote's answer")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if limits.buffer < 1 || limits.maxReplay < 1 || limits.perLocation < 1 {
		return errors.New("-watch-buffer, -max-replay and -max-notes-per-location must be at least 1")
	}
	features, err := dataset.Open(opts.Features)
	if err != nil {
		return err
	}
	listener, err := benchserver.Listen(opts.Addr, false)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	srv.RegisterService(&serviceDesc, &routeGuide{features: features, notes: make(map[string][]*routeguide.RouteNote)})
	// The hub's store is its own: RouteChat keeps the tutorial's.
	hub := newNotesHub(limits)
	notesv1.RegisterNotesServiceServer(srv, hub)
	go hub.fanOut(ctx)
	fmt.Fprintf(stderr, "reference-server listening addr=%s features=%d\n", listener.Addr(), len(features))
	go func() {
		<-ctx.Done()
		srv.Stop()
	}()
	return srv.Serve(listener)
}

// routeGuide behaves as the grpc-go tutorial's server does.
type routeGuide struct {
	features []*routeguide.Feature
	mu       sync.Mutex // protects notes
	notes    map[string][]*routeguide.RouteNote
}

func (s *routeGuide) getFeature(_ context.Context, p *routeguide.Point) (*routeguide.Feature, error) {
	for _, f := range s.features {
		if proto.Equal(f.Location, p) {
			return f, nil
		}
	}
	return &routeguide.Feature{Location: p}, nil
}

func (s *routeGuide) listFeatures(r *routeguide.Rectangle, stream grpc.ServerStream) error {
	for _, f := range s.features {
		if inRange(f.Location, r) {
			if err := stream.SendMsg(f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *routeGuide) recordRoute(stream grpc.ServerStream) error {
	var points, features, distance int32
	var last *routeguide.Point
	start := time.Now()
	for {
		p := new(routeguide.Point)
		err := stream.RecvMsg(p)
		if errors.Is(err, io.EOF) {
			return stream.SendMsg(&routeguide.RouteSummary{
				PointCount: points, FeatureCount: features, Distance: distance,
				ElapsedTime: int32(time.Since(start) / time.Second),
			})
		}
		if err != nil {
			return err
		}
		points++
		for _, f := range s.features {
			if proto.Equal(f.Location, p) {
				features++
			}
		}
		if last != nil {
			distance += calcDistance(last, p)
		}
		last = p
	}
}

func (s *routeGuide) routeChat(stream grpc.ServerStream) error {
	for {
		in := new(routeguide.RouteNote)
		err := stream.RecvMsg(in)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%d %d", in.Location.GetLatitude(), in.Location.GetLongitude())
		s.mu.Lock()
		s.notes[key] = append(s.notes[key], in)
		notes := make([]*routeguide.RouteNote, len(s.notes[key]))
		copy(notes, s.notes[key])
		s.mu.Unlock()
		for _, n := range notes {
			if err := stream.SendMsg(n); err != nil {
				return err
			}
		}
	}
}

func inRange(p *routeguide.Point, r *routeguide.Rectangle) bool {
	left := math.Min(float64(r.Lo.Longitude), float64(r.Hi.Longitude))
	right := math.Max(float64(r.Lo.Longitude), float64(r.Hi.Longitude))
	top := math.Max(float64(r.Lo.Latitude), float64(r.Hi.Latitude))
	bottom := math.Min(float64(r.Lo.Latitude), float64(r.Hi.Latitude))
	return float64(p.Longitude) >= left && float64(p.Longitude) <= right &&
		float64(p.Latitude) >= bottom && float64(p.Latitude) <= top
}

func calcDistance(p1, p2 *routeguide.Point) int32 {
	const coordFactor = 1e7
	const r = 6371000.0
	rad := func(x float64) float64 { return x * math.Pi / 180 }
	lat1, lat2 := rad(float64(p1.Latitude)/coordFactor), rad(float64(p2.Latitude)/coordFactor)
	lng1, lng2 := rad(float64(p1.Longitude)/coordFactor), rad(float64(p2.Longitude)/coordFactor)
	dlat, dlng := lat2-lat1, lng2-lng1
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dlng/2)*math.Sin(dlng/2)
	return int32(r * 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a)))
}

// serviceDesc registers the service with grpc-go by hand, as
// protoc-gen-go-grpc would, so the product needs no grpc-go stubs.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: "routeguide.RouteGuide",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "GetFeature",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			p := new(routeguide.Point)
			if err := dec(p); err != nil {
				return nil, err
			}
			return srv.(*routeGuide).getFeature(ctx, p)
		},
	}},
	Streams: []grpc.StreamDesc{
		{StreamName: "ListFeatures", ServerStreams: true, Handler: func(srv any, stream grpc.ServerStream) error {
			r := new(routeguide.Rectangle)
			if err := stream.RecvMsg(r); err != nil {
				return err
			}
			return srv.(*routeGuide).listFeatures(r, stream)
		}},
		{StreamName: "RecordRoute", ClientStreams: true, Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(*routeGuide).recordRoute(stream)
		}},
		{StreamName: "RouteChat", ServerStreams: true, ClientStreams: true, Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(*routeGuide).routeChat(stream)
		}},
	},
	Metadata: "routeguide/route_guide.proto",
}
