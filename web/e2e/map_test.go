package e2e

import (
	"fmt"

	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/dataset"
)

// TestMapShowsLand checks the coastlines where everyone knows them: the
// places on land are filled as land, those at sea are not, and the land
// stays within the map, cut at the antimeridian rather than drawn across it.
func TestMapShowsLand(t *testing.T) {
	t.Parallel()
	ts, _ := startServer(t, dataset.Default())
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)

	places := []struct {
		name                string
		latitude, longitude float64 // degrees
		land                bool
	}{
		{"Paris", 48.86, 2.29, true},
		{"Denver", 39.74, -104.99, true},
		{"Alice Springs", -23.70, 133.88, true},
		{"Manaus", -3.12, -60.02, true},
		{"Chukotka, east of the antimeridian", 66.0, -172.0, true},
		{"Chukotka, west of the antimeridian", 67.0, 172.0, true},
		{"the South Pole", -89.0, 0, true},
		{"the mid-Atlantic", 30.0, -40.0, false},
		{"the Pacific, south of Hawaii", 10.0, -155.0, false},
		{"the Indian Ocean", -20.0, 80.0, false},
		{"the Mediterranean", 35.0, 18.0, false},
		{"the Arctic Ocean", 88.0, 0, false},
	}
	for _, p := range places {
		got := eval[bool](t, ctx, fmt.Sprintf(`document.querySelector("#plot path.land").isPointInFill(
			new DOMPoint((%g + 180) * 10, (90 - %g) * 10))`, p.longitude, p.latitude))
		if got != p.land {
			t.Errorf("%s (%g, %g): on land = %v, want %v", p.name, p.latitude, p.longitude, got, p.land)
		}
	}
	box := eval[struct{ X, Y, Width, Height float64 }](t, ctx,
		`(() => { const b = document.querySelector("#plot path.land").getBBox();
			return {X: b.x, Y: b.y, Width: b.width, Height: b.height}; })()`)
	if box.X < 0 || box.Y < 0 || box.X+box.Width > 3600.5 || box.Y+box.Height > 1800.5 || box.Width < 3590 {
		t.Errorf("land spans %+v, want it across the whole map and within 0..3600 by 0..1800", box)
	}
}

// TestLegendMatchesMarks checks that every mark of the legend looks like the
// mark it explains on the map, so that the legend cannot drift from the map.
func TestLegendMatchesMarks(t *testing.T) {
	t.Parallel()
	// The embedded dataset has unnamed points.
	ts, _ := startServer(t, dataset.Default())
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)

	// Look a point up and list a rectangle beside it, so that the map has
	// every kind of mark, none of them both listed and looked up.
	fillPoint(t, ctx, "488583700", "22944810") // the Eiffel Tower
	run(t, ctx, waitState("feature-result", "done"))
	fillRectangle(t, ctx, rectangleOf(250000000, -1250000000, 500000000, -600000000))
	run(t, ctx, waitState("list-status", "done"))

	type look struct{ Fill, Stroke, StrokeWidth string }
	style := func(selector string) look {
		t.Helper()
		return eval[look](t, ctx, fmt.Sprintf(`(() => {
			const el = document.querySelector(%q);
			if (!el) return {Fill: "missing: " + %q};
			const s = getComputedStyle(el);
			return {Fill: s.fill, Stroke: s.stroke, StrokeWidth: s.strokeWidth}; })()`, selector, selector))
	}
	for _, kind := range []string{
		"circle.feature:not(.unnamed):not(.hit):not(.selected)",
		"circle.feature.unnamed:not(.hit):not(.selected)",
		"circle.feature.hit:not(.selected)",
		"circle.feature.selected",
		".land",
	} {
		want := style("#plot " + kind)
		// The legend's land is a rectangle, not the land's path.
		legend := style("#legend " + kind)
		if kind == ".land" {
			legend = style("#legend rect.land")
		}
		if diff := cmp.Diff(want, legend); diff != "" {
			t.Errorf("legend's %s differs from the map's (-map +legend):\n%s", kind, diff)
		}
	}
	if got := text(t, ctx, "#legend"); !containsAll(got, "Unnamed point", "Natural Earth") {
		t.Errorf("legend reads %q, want it to explain unnamed points and name the land's source", got)
	}
}

// rectangleOf returns the rectangle from a south-west to a north-east corner.
func rectangleOf(loLatitude, loLongitude, hiLatitude, hiLongitude int32) *routeguide.Rectangle {
	return &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: loLatitude, Longitude: loLongitude},
		Hi: &routeguide.Point{Latitude: hiLatitude, Longitude: hiLongitude},
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
