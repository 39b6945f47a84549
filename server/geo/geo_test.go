package geo

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
		p, q Point
		want int32
	}{
		{"same Point", Point{409146138, -746188906}, Point{409146138, -746188906}, 0},
		// One degree of arc is 6,371,000 m × π/180 = 111,194.93 m.
		{"one degree along the equator", Point{0, 0}, Point{0, 10_000_000}, 111_194},
		{"one degree along a meridian", Point{0, 0}, Point{10_000_000, 0}, 111_194},
		// Half the circumference, π × 6,371,000 m = 20,015,086.8 m.
		{"pole to pole", Point{900_000_000, 0}, Point{-900_000_000, 0}, 20_015_086},
		{"antipodes on the equator", Point{0, -900_000_000}, Point{0, 900_000_000}, 20_015_086},
		{"across the antimeridian", Point{0, 1_795_000_000}, Point{0, -1_795_000_000}, 111_194},
		// 60° of arc along the meridian: 6,371,000 m × π/3 = 6,671,695.6 m.
		{"sixty degrees", Point{-300_000_000, 1_000_000_000}, Point{300_000_000, 1_000_000_000}, 6_671_695},
	}
	for _, tt := range tests {
		if got := DistanceMetres(tt.p, tt.q); got != tt.want {
			t.Errorf("%s: DistanceMetres(%v, %v) = %d, want %d", tt.name, tt.p, tt.q, got, tt.want)
		}
		if got := DistanceMetres(tt.q, tt.p); got != tt.want {
			t.Errorf("%s: DistanceMetres(%v, %v) = %d, want %d (reversed)", tt.name, tt.q, tt.p, got, tt.want)
		}
	}
}

func TestCheckPoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field   string
		p       *routeguide.Point
		wantErr string // empty for a valid Point
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
		err := CheckPoint(tt.field, tt.p)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckPoint(%q, %v) = %v, want nil", tt.field, tt.p, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckPoint(%q, %v) = %v, want an error containing %q", tt.field, tt.p, err, tt.wantErr)
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
		err := CheckRectangle(tt.rect)
		if len(tt.wantErr) == 0 {
			if err != nil {
				t.Errorf("CheckRectangle(%v) = %v, want nil", tt.rect, err)
			}
			continue
		}
		for _, want := range tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("CheckRectangle(%v) = %v, want an error containing %q", tt.rect, err, want)
			}
		}
	}
}

func TestBoundsContains(t *testing.T) {
	t.Parallel()
	lo := &routeguide.Point{Latitude: 10, Longitude: -20}
	hi := &routeguide.Point{Latitude: 30, Longitude: 40}
	tests := []struct {
		p    Point
		want bool
	}{
		{Point{20, 0}, true},
		{Point{10, -20}, true}, // corners and edges are inside
		{Point{30, 40}, true},
		{Point{10, 40}, true},
		{Point{30, 0}, true},
		{Point{9, 0}, false},
		{Point{31, 0}, false},
		{Point{20, -21}, false},
		{Point{20, 41}, false},
	}
	for _, corners := range []*routeguide.Rectangle{
		{Lo: lo, Hi: hi},
		{Lo: hi, Hi: lo},
		{Lo: &routeguide.Point{Latitude: 10, Longitude: 40}, Hi: &routeguide.Point{Latitude: 30, Longitude: -20}},
	} {
		b := BoundsOf(corners)
		for _, tt := range tests {
			if got := b.Contains(tt.p); got != tt.want {
				t.Errorf("Bounds of %v: contains(%v) = %v, want %v", corners, tt.p, got, tt.want)
			}
		}
	}
}
