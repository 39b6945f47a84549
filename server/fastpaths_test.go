package server_test

import (
	"testing"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
)

// TestWithoutFastPaths serves every shape of call with the performance-only
// layers off: turning them off for diagnosis must change nothing a client
// sees.
func TestWithoutFastPaths(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, testFeatures, server.WithoutFastPaths())
	c := newProtocolClient(t, ts.URL)
	f, err := c.GetFeature(t.Context(), testFeatures[0].GetLocation())
	if err != nil || f.GetName() != testFeatures[0].GetName() {
		t.Fatalf("GetFeature: %v, %v; want %q", f, err, testFeatures[0].GetName())
	}
	var listed int
	world := &routeguide.Rectangle{Lo: pt(-900_000_000, -1_800_000_000), Hi: pt(900_000_000, 1_800_000_000)}
	for _, err := range c.ListFeatures(t.Context(), world) {
		if err != nil {
			t.Fatal(err)
		}
		listed++
	}
	if listed != len(testFeatures) {
		t.Errorf("ListFeatures of the world: %d features, want %d", listed, len(testFeatures))
	}
	replies, err := chat(t, c, tutorialNotes())
	if err != nil || len(replies) != 9 {
		t.Errorf("RouteChat of the tutorial's notes: %d replies, %v; want 9", len(replies), err)
	}
}
