package server

import (
	"math"
	"testing"

	"github.com/routeguide/routeguide/server/geo"
)

func TestRouteTallySaturates(t *testing.T) {
	t.Parallel()
	var route routeTally
	// 108 pole-to-pole legs of 20,015,086 m pass the largest int32.
	for i := range 200 {
		lat := int32(900_000_000)
		if i%2 == 1 {
			lat = -lat
		}
		route.add(geo.Point{Latitude: lat}, false)
	}
	got := route.summary(0)
	if got.GetDistance() != math.MaxInt32 {
		t.Errorf("distance = %d, want it saturated at %d", got.GetDistance(), math.MaxInt32)
	}
	if got.GetPointCount() != 200 {
		t.Errorf("point_count = %d, want 200", got.GetPointCount())
	}

	full := routeTally{points: math.MaxInt32, features: math.MaxInt32 - 1}
	full.add(geo.Point{}, true)
	full.add(geo.Point{}, true)
	if full.points != math.MaxInt32 || full.features != math.MaxInt32 {
		t.Errorf("counts = %d points, %d features; want both saturated at %d", full.points, full.features, math.MaxInt32)
	}
}

func TestSaturatingAdd(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b, want int32 }{
		{0, 0, 0},
		{1, 2, 3},
		{math.MaxInt32 - 1, 1, math.MaxInt32},
		{math.MaxInt32 - 1, 2, math.MaxInt32},
		{math.MaxInt32, math.MaxInt32, math.MaxInt32},
	}
	for _, tt := range tests {
		if got := saturatingAdd(tt.a, tt.b); got != tt.want {
			t.Errorf("saturatingAdd(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
