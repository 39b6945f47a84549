package server

import (
	"math"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/gen/routeguide"
)

func TestDistanceMetres(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p, q point
		want int32
	}{
		{"same point", point{409146138, -746188906}, point{409146138, -746188906}, 0},
		// One degree of arc is 6,371,000 m × π/180 = 111,194.93 m.
		{"one degree along the equator", point{0, 0}, point{0, 10_000_000}, 111_194},
		{"one degree along a meridian", point{0, 0}, point{10_000_000, 0}, 111_194},
		// Half the circumference, π × 6,371,000 m = 20,015,086.8 m.
		{"pole to pole", point{900_000_000, 0}, point{-900_000_000, 0}, 20_015_086},
		{"antipodes on the equator", point{0, -900_000_000}, point{0, 900_000_000}, 20_015_086},
		{"across the antimeridian", point{0, 1_795_000_000}, point{0, -1_795_000_000}, 111_194},
		// 60° of arc along the meridian: 6,371,000 m × π/3 = 6,671,695.6 m.
		{"sixty degrees", point{-300_000_000, 1_000_000_000}, point{300_000_000, 1_000_000_000}, 6_671_695},
	}
	for _, tt := range tests {
		if got := distanceMetres(tt.p, tt.q); got != tt.want {
			t.Errorf("%s: distanceMetres(%v, %v) = %d, want %d", tt.name, tt.p, tt.q, got, tt.want)
		}
		if got := distanceMetres(tt.q, tt.p); got != tt.want {
			t.Errorf("%s: distanceMetres(%v, %v) = %d, want %d (reversed)", tt.name, tt.q, tt.p, got, tt.want)
		}
	}
}

func TestCheckPoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field   string
		p       *routeguide.Point
		wantErr string // empty for a valid point
	}{
		{"", &routeguide.Point{}, ""},
		{"", &routeguide.Point{Latitude: 900_000_000, Longitude: 1_800_000_000}, ""},
		{"", &routeguide.Point{Latitude: -900_000_000, Longitude: -1_800_000_000}, ""},
		{"", &routeguide.Point{Latitude: 900_000_001}, "latitude 900000001 is out of range"},
		{"", &routeguide.Point{Latitude: -900_000_001}, "latitude -900000001 is out of range"},
		{"hi", &routeguide.Point{Longitude: 1_800_000_001}, "hi.longitude 1800000001 is out of range"},
		{"lo", &routeguide.Point{Longitude: math.MinInt32}, "lo.longitude -2147483648 is out of range"},
		{"location", nil, "location is required"},
	}
	for _, tt := range tests {
		err := checkPoint(tt.field, tt.p)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("checkPoint(%q, %v) = %v, want nil", tt.field, tt.p, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("checkPoint(%q, %v) = %v, want an error containing %q", tt.field, tt.p, err, tt.wantErr)
		}
	}
}

func TestCheckRectangle(t *testing.T) {
	t.Parallel()
	valid := &routeguide.Point{Latitude: 1, Longitude: 2}
	tests := []struct {
		rect    *routeguide.Rectangle
		wantErr []string
	}{
		{&routeguide.Rectangle{Lo: valid, Hi: valid}, nil},
		{&routeguide.Rectangle{Lo: valid}, []string{"hi is required"}},
		{&routeguide.Rectangle{Hi: valid}, []string{"lo is required"}},
		{&routeguide.Rectangle{}, []string{"lo is required", "hi is required"}},
		{nil, []string{"lo is required", "hi is required"}},
		{&routeguide.Rectangle{Lo: valid, Hi: &routeguide.Point{Latitude: 950_000_000}}, []string{"hi.latitude"}},
	}
	for _, tt := range tests {
		err := checkRectangle(tt.rect)
		if len(tt.wantErr) == 0 {
			if err != nil {
				t.Errorf("checkRectangle(%v) = %v, want nil", tt.rect, err)
			}
			continue
		}
		for _, want := range tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("checkRectangle(%v) = %v, want an error containing %q", tt.rect, err, want)
			}
		}
	}
}

func TestBoundsContains(t *testing.T) {
	t.Parallel()
	lo := &routeguide.Point{Latitude: 10, Longitude: -20}
	hi := &routeguide.Point{Latitude: 30, Longitude: 40}
	tests := []struct {
		p    point
		want bool
	}{
		{point{20, 0}, true},
		{point{10, -20}, true}, // corners and edges are inside
		{point{30, 40}, true},
		{point{10, 40}, true},
		{point{30, 0}, true},
		{point{9, 0}, false},
		{point{31, 0}, false},
		{point{20, -21}, false},
		{point{20, 41}, false},
	}
	for _, corners := range []*routeguide.Rectangle{
		{Lo: lo, Hi: hi},
		{Lo: hi, Hi: lo},
		{Lo: &routeguide.Point{Latitude: 10, Longitude: 40}, Hi: &routeguide.Point{Latitude: 30, Longitude: -20}},
	} {
		b := boundsOf(corners)
		for _, tt := range tests {
			if got := b.contains(tt.p); got != tt.want {
				t.Errorf("bounds of %v: contains(%v) = %v, want %v", corners, tt.p, got, tt.want)
			}
		}
	}
}

func TestRouteTallySaturates(t *testing.T) {
	t.Parallel()
	var route routeTally
	// 108 pole-to-pole legs of 20,015,086 m pass the largest int32.
	for i := range 200 {
		lat := int32(900_000_000)
		if i%2 == 1 {
			lat = -lat
		}
		route.add(point{latitude: lat}, false)
	}
	got := route.summary(0)
	if got.GetDistance() != math.MaxInt32 {
		t.Errorf("distance = %d, want it saturated at %d", got.GetDistance(), math.MaxInt32)
	}
	if got.GetPointCount() != 200 {
		t.Errorf("point_count = %d, want 200", got.GetPointCount())
	}

	full := routeTally{points: math.MaxInt32, features: math.MaxInt32 - 1}
	full.add(point{}, true)
	full.add(point{}, true)
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
