package observe

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// The counters of notes turned away and dropped must count, and a nil
// *Metrics must be safe to report to.
func TestNoteCounters(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	// Two notes a location, and room for three in all.
	store := notes.NewMemory(limits.Limits{MaxNotesPerLocation: 2, MaxStoredNoteBytes: 3 * limits.NoteOverheadBytes})
	m, err := NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		State{Features: 5, Notes: func() NotesStats {
			stats := store.Stats()
			return NotesStats{Notes: stats.Notes, Locations: stats.Locations,
				EvictedLocationFull: stats.Evicted.LocationFull, EvictedStoreFull: stats.Evicted.StoreFull}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, lat := range []int32{1, 1, 1, 1, 1, 2, 3} {
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: lat}}
		if _, err := store.Add(t.Context(), note, notes.Author{}); err != nil {
			t.Fatal(err)
		}
	}
	m.NoteRejected("message_too_long")
	m.NoteRejected("message_too_long")
	var off *Metrics
	off.NoteRejected("message_too_long")

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]int64)
	for _, scope := range rm.ScopeMetrics {
		for _, metric := range scope.Metrics {
			switch data := metric.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range data.DataPoints {
					reason, _ := p.Attributes.Value(attribute.Key("reason"))
					got[metric.Name+"{"+reason.AsString()+"}"] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range data.DataPoints {
					got[metric.Name] = p.Value
				}
			}
		}
	}
	// Notes 1 to 3 at latitude 1 are dropped for newer ones there, and one
	// of the two left there for the notes at latitudes 2 and 3.
	want := map[string]int64{
		"routeguide.notes.rejected{message_too_long}": 2,
		"routeguide.notes.evicted{location_full}":     3,
		"routeguide.notes.evicted{store_full}":        1,
		"routeguide.features":                         5,
		"routeguide.notes":                            3,
		"routeguide.notes.locations":                  3,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}
