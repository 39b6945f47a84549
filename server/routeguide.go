package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/server/clientaddr"
	"github.com/routeguide/routeguide/server/features"
	"github.com/routeguide/routeguide/server/geo"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/observe"
)

// routeGuide implements the RouteGuide service over a fixed dataset and a
// notes store shared by all clients.
type routeGuide struct {
	features *features.Index
	notes    notes.Store
	metrics  *observe.Metrics    // nil records nothing
	logger   *slog.Logger        // told what clients are not: why the notes store failed
	limits   limits.Limits       // with its defaults
	budget   WriteBudget         // nil charges nothing
	trusted  *clientaddr.Trusted // nil trusts no proxy
	watches  *notes.Admission
}

var _ routeguideconnect.RouteGuideHandler = (*routeGuide)(nil)

func (g *routeGuide) GetFeature(ctx context.Context, req *routeguide.Point) (*routeguide.Feature, error) {
	if err := geo.CheckPoint("", req); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err.Error()).WithCause(err)
	}
	var feature *routeguide.Feature
	if i, ok := g.features.At(geo.PointOf(req)); ok {
		feature = g.features.Feature(i)
	} else {
		// No feature: an unnamed one at the requested point, as the
		// tutorial says.
		feature = &routeguide.Feature{Location: &routeguide.Point{
			Latitude:  req.GetLatitude(),
			Longitude: req.GetLongitude(),
		}}
	}
	// The dataset never changes while the server runs, so an answer fetched
	// with a Connect GET may be kept; restarts with other data are rare
	// enough for five minutes. Answers to POSTs, every gRPC call among
	// them, are not kept by caches, and the header would only cost every
	// client its decoding.
	if info, ok := connecthttp.ServerInfoForContext(ctx); ok && info.HTTPMethod() == http.MethodGet {
		if call, ok := connect.CallInfoForServerContext(ctx); ok {
			call.ResponseHeader().Set("Cache-Control", "public, max-age=300")
		}
	}
	return feature, nil
}

func (g *routeGuide) ListFeatures(ctx context.Context, req *routeguide.Rectangle, stream routeguideconnect.RouteGuideListFeaturesServerStream) error {
	if err := geo.CheckRectangle(req); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err.Error()).WithCause(err)
	}
	// Send marshals the message before it returns, so one message serves
	// for every feature.
	f := &routeguide.Feature{Location: &routeguide.Point{}}
	for i := range g.features.Within(geo.BoundsOf(req)) {
		// Sends are buffered, so a call that has ended may not learn it
		// from Send for a while.
		if err := ctx.Err(); err != nil {
			return err
		}
		g.features.Fill(i, f)
		if err := stream.Send(f); err != nil {
			return err
		}
	}
	return nil
}

func (g *routeGuide) RecordRoute(_ context.Context, stream routeguideconnect.RouteGuideRecordRouteServerStream) (*routeguide.RouteSummary, error) {
	start := time.Now()
	var route routeTally
	for {
		point, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if int(route.points) >= g.limits.MaxRoutePoints {
			return nil, connect.Errorf(connect.CodeResourceExhausted,
				"a route may have at most %d points", g.limits.MaxRoutePoints)
		}
		if err := geo.CheckPoint("", point); err != nil {
			return nil, connect.Errorf(connect.CodeInvalidArgument,
				"point %d: %v", int64(route.points)+1, err).WithCause(err)
		}
		p := geo.PointOf(point)
		_, known := g.features.At(p)
		route.add(p, known)
	}
	return route.summary(time.Since(start)), nil
}

func (g *routeGuide) RouteChat(ctx context.Context, stream routeguideconnect.RouteGuideRouteChatServerStream) error {
	who := g.callerOf(ctx)
	for {
		note, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		replies, err := g.addNote(ctx, who, note)
		if err != nil {
			return err
		}
		for _, reply := range replies {
			if err := stream.Send(reply.Note); err != nil {
				return err
			}
		}
	}
}

// addNote checks note, which who sends, and stores it, returning every
// note at its location so far, the new one last.
func (g *routeGuide) addNote(ctx context.Context, who caller, note *routeguide.RouteNote) ([]notes.Note, error) {
	if err := geo.CheckPoint("location", note.GetLocation()); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err.Error()).WithCause(err)
	}
	if n := len(note.GetMessage()); n > g.limits.MaxNoteBytes {
		g.metrics.NoteRejected("message_too_long")
		return nil, connect.Errorf(connect.CodeInvalidArgument,
			"message is %d bytes long: a note may have at most %d", n, g.limits.MaxNoteBytes)
	}
	if err := g.chargeWrite(ctx, who); err != nil {
		return nil, err
	}
	replies, err := g.notes.Add(ctx, note, who.author())
	if err != nil {
		return nil, storeError(ctx, g.logger, err)
	}
	return replies, nil
}

// routeTally sums up a route as its points arrive. Every count saturates at
// the largest int32 rather than wrapping, so a long route never reports a
// negative or small total.
type routeTally struct {
	points, features, distance int32
	last                       geo.Point
}

func (t *routeTally) add(p geo.Point, known bool) {
	if t.points > 0 {
		t.distance = saturatingAdd(t.distance, geo.DistanceMetres(t.last, p))
	}
	t.points = saturatingAdd(t.points, 1)
	if known {
		t.features = saturatingAdd(t.features, 1)
	}
	t.last = p
}

func (t *routeTally) summary(elapsed time.Duration) *routeguide.RouteSummary {
	return &routeguide.RouteSummary{
		PointCount:   t.points,
		FeatureCount: t.features,
		Distance:     t.distance,
		ElapsedTime:  int32(min(elapsed/time.Second, math.MaxInt32)),
	}
}

// saturatingAdd returns a+b, or the largest int32 if that would overflow.
// b must not be negative.
func saturatingAdd(a, b int32) int32 {
	if a > math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}
