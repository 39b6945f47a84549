package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"connectrpc.com/connect"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
)

// routeGuide implements the RouteGuide service over a fixed dataset and a
// notes store shared by all clients.
type routeGuide struct {
	features       *featureIndex
	notes          *noteStore
	maxRoutePoints int
	maxNoteBytes   int
}

var _ routeguideconnect.RouteGuideHandler = (*routeGuide)(nil)

func (g *routeGuide) GetFeature(_ context.Context, req *connect.Request[routeguide.Point]) (*connect.Response[routeguide.Feature], error) {
	if err := checkPoint("", req.Msg); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	var feature *routeguide.Feature
	if i, ok := g.features.at(pointOf(req.Msg)); ok {
		feature = g.features.feature(i)
	} else {
		// No feature: an unnamed one at the requested point, as the
		// tutorial says.
		feature = &routeguide.Feature{Location: &routeguide.Point{
			Latitude:  req.Msg.GetLatitude(),
			Longitude: req.Msg.GetLongitude(),
		}}
	}
	res := connect.NewResponse(feature)
	// The dataset never changes while the server runs, so an answer fetched
	// with a Connect GET may be kept; restarts with other data are rare
	// enough for five minutes.
	res.Header().Set("Cache-Control", "public, max-age=300")
	return res, nil
}

func (g *routeGuide) ListFeatures(ctx context.Context, req *connect.Request[routeguide.Rectangle], stream *connect.ServerStream[routeguide.Feature]) error {
	if err := checkRectangle(req.Msg); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	// Send marshals the message before it returns, so one message serves
	// for every feature.
	f := &routeguide.Feature{Location: &routeguide.Point{}}
	for i := range g.features.within(boundsOf(req.Msg)) {
		// Sends are buffered, so a call that has ended may not learn it
		// from Send for a while.
		if err := ctx.Err(); err != nil {
			return err
		}
		g.features.fill(i, f)
		if err := stream.Send(f); err != nil {
			return err
		}
	}
	return nil
}

func (g *routeGuide) RecordRoute(_ context.Context, stream *connect.ClientStream[routeguide.Point]) (*connect.Response[routeguide.RouteSummary], error) {
	start := time.Now()
	var route routeTally
	for stream.Receive() {
		if int(route.points) >= g.maxRoutePoints {
			return nil, connect.NewError(connect.CodeResourceExhausted,
				fmt.Errorf("a route may have at most %d points", g.maxRoutePoints))
		}
		if err := checkPoint("", stream.Msg()); err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("point %d: %w", int64(route.points)+1, err))
		}
		p := pointOf(stream.Msg())
		_, known := g.features.at(p)
		route.add(p, known)
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return connect.NewResponse(route.summary(time.Since(start))), nil
}

func (g *routeGuide) RouteChat(_ context.Context, stream *connect.BidiStream[routeguide.RouteNote, routeguide.RouteNote]) error {
	for {
		note, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := checkPoint("location", note.GetLocation()); err != nil {
			return connect.NewError(connect.CodeInvalidArgument, err)
		}
		if n := len(note.GetMessage()); n > g.maxNoteBytes {
			g.notes.metrics.noteRejected("message_too_long")
			return connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("message is %d bytes long: a note may have at most %d", n, g.maxNoteBytes))
		}
		for _, reply := range g.notes.add(note) {
			if err := stream.Send(reply); err != nil {
				return err
			}
		}
	}
}

// routeTally sums up a route as its points arrive. Every count saturates at
// the largest int32 rather than wrapping, so a long route never reports a
// negative or small total.
type routeTally struct {
	points, features, distance int32
	last                       point
}

func (t *routeTally) add(p point, known bool) {
	if t.points > 0 {
		t.distance = saturatingAdd(t.distance, distanceMetres(t.last, p))
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
