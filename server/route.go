package server

import (
	"math"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/geo"
)

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
