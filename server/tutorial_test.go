package server_test

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// The calls of the gRPC RouteGuide tutorial and the answers its clients
// expect, shared by the tests that drive our server with other stacks'
// clients. The expectations are worked out here from the dataset, not asked
// of the server's own code.

// berkshireValley is the feature every tutorial client asks for first.
var berkshireValley = &routeguide.Feature{
	Name:     "Berkshire Valley Management Area Trail, Jefferson, NJ, USA",
	Location: &routeguide.Point{Latitude: 409146138, Longitude: -746188906},
}

// tutorialRectangle is the rectangle the tutorial lists; it holds all 100
// features of the canonical dataset.
func tutorialRectangle() *routeguide.Rectangle {
	return &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: 400000000, Longitude: -750000000},
		Hi: &routeguide.Point{Latitude: 420000000, Longitude: -730000000},
	}
}

// tutorialNotes are the notes the tutorial sends to RouteChat, in order.
func tutorialNotes() []*routeguide.RouteNote {
	note := func(lat, lon int32, message string) *routeguide.RouteNote {
		return &routeguide.RouteNote{Location: &routeguide.Point{Latitude: lat, Longitude: lon}, Message: message}
	}
	return []*routeguide.RouteNote{
		note(0, 1, "First message"),
		note(0, 2, "Second message"),
		note(0, 3, "Third message"),
		note(0, 1, "Fourth message"),
		note(0, 2, "Fifth message"),
		note(0, 3, "Sixth message"),
	}
}

// wantChatReplies are the replies a fresh server gives to tutorialNotes:
// each note is answered with every note at its location so far, so the
// second round of locations brings back the first round too.
func wantChatReplies() []*routeguide.RouteNote {
	n := tutorialNotes()
	return []*routeguide.RouteNote{n[0], n[1], n[2], n[0], n[3], n[1], n[4], n[2], n[5]}
}

// offDatasetPoint is a route point with no feature in the canonical dataset:
// the south-west corner of the tutorial's rectangle.
var offDatasetPoint = &routeguide.Point{Latitude: 400000000, Longitude: -750000000}

// tutorialRoute picks every tenth feature of the dataset, then a point with
// no feature. The Python client in testdata picks the same route.
func tutorialRoute(features []*routeguide.Feature) []*routeguide.Point {
	var route []*routeguide.Point
	for i := 0; i < len(features); i += 10 {
		route = append(route, features[i].GetLocation())
	}
	return append(route, offDatasetPoint)
}

// wantSummary works out the RouteSummary of route over features, leaving out
// elapsed_time. A point counts as a feature when any feature of the dataset,
// named or not, is at it, as in the reference servers.
func wantSummary(features []*routeguide.Feature, route []*routeguide.Point) *routeguide.RouteSummary {
	known := make(map[[2]int32]bool, len(features))
	for _, f := range features {
		known[[2]int32{f.GetLocation().GetLatitude(), f.GetLocation().GetLongitude()}] = true
	}
	summary := &routeguide.RouteSummary{PointCount: int32(len(route))}
	for i, p := range route {
		if known[[2]int32{p.GetLatitude(), p.GetLongitude()}] {
			summary.FeatureCount++
		}
		if i > 0 {
			summary.Distance += haversineMetres(route[i-1], p)
		}
	}
	return summary
}

// haversineMetres is the great-circle distance between two E7 points on a
// sphere of radius 6371 km, truncated to whole metres, as the tutorial's
// servers compute each leg of a route.
func haversineMetres(p, q *routeguide.Point) int32 {
	const earthRadius = 6371000.0
	rad := func(e7 int32) float64 { return float64(e7) * 1e-7 * math.Pi / 180 }
	lat1, lat2 := rad(p.GetLatitude()), rad(q.GetLatitude())
	dLat := lat2 - lat1
	dLon := rad(q.GetLongitude()) - rad(p.GetLongitude())
	a := math.Pow(math.Sin(dLat/2), 2) + math.Cos(lat1)*math.Cos(lat2)*math.Pow(math.Sin(dLon/2), 2)
	return int32(earthRadius * 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a)))
}

// featuresWithin lists, in dataset order, the features inside r with its
// edges included.
func featuresWithin(features []*routeguide.Feature, r *routeguide.Rectangle) []*routeguide.Feature {
	minLat, maxLat := min(r.GetLo().GetLatitude(), r.GetHi().GetLatitude()), max(r.GetLo().GetLatitude(), r.GetHi().GetLatitude())
	minLon, maxLon := min(r.GetLo().GetLongitude(), r.GetHi().GetLongitude()), max(r.GetLo().GetLongitude(), r.GetHi().GetLongitude())
	var within []*routeguide.Feature
	for _, f := range features {
		lat, lon := f.GetLocation().GetLatitude(), f.GetLocation().GetLongitude()
		if lat >= minLat && lat <= maxLat && lon >= minLon && lon <= maxLon {
			within = append(within, f)
		}
	}
	return within
}

// diffMessages describes how got differs from want, or returns "" when they
// hold equal messages in the same order.
func diffMessages[M proto.Message](got, want []M) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			return fmt.Sprintf("message %d: got {%v}, want {%v}", i, got[i], want[i])
		}
	}
	return ""
}
