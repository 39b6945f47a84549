package server

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The notes store reports notes it turns away or drops at its caps through
// these hooks; they must count, and be safe to call with metrics off.
func TestNoteCapCounters(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	// Two notes a location, and room for three in all.
	index, err := newFeatureIndex(nil)
	if err != nil {
		t.Fatal(err)
	}
	service := &routeGuide{features: index, notes: newNoteStore(2, 3*noteOverheadBytes)}
	m, err := newServiceMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), service)
	if err != nil {
		t.Fatal(err)
	}
	service.notes.metrics = m
	for _, lat := range []int32{1, 1, 1, 1, 1, 2, 3} {
		service.notes.add(note(lat, 0, ""))
	}
	m.noteRejected("message_too_long")
	m.noteRejected("message_too_long")

	var off *serviceMetrics
	off.noteRejected("store_full")
	off.notesEvicted("location_full", 1)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]int64)
	for _, scope := range rm.ScopeMetrics {
		for _, metric := range scope.Metrics {
			sum, ok := metric.Data.(metricdata.Sum[int64])
			if !ok || !sum.IsMonotonic {
				continue
			}
			for _, p := range sum.DataPoints {
				reason, _ := p.Attributes.Value(attribute.Key("reason"))
				got[metric.Name+"{"+reason.AsString()+"}"] = p.Value
			}
		}
	}
	// Notes 1 to 3 at latitude 1 are dropped for newer ones there, and the
	// two left there for the notes at latitudes 2 and 3 ... one of them.
	want := map[string]int64{
		"routeguide.notes.rejected{message_too_long}": 2,
		"routeguide.notes.evicted{location_full}":     3,
		"routeguide.notes.evicted{store_full}":        1,
	}
	if len(got) != len(want) {
		t.Errorf("counters = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}
