package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/gen/routeguide"
)

func TestParseFeaturesForms(t *testing.T) {
	t.Parallel()
	want := []*routeguide.Feature{
		{Name: "A", Location: &routeguide.Point{Latitude: 1, Longitude: 2}},
		{Name: "", Location: &routeguide.Point{Latitude: -900000000, Longitude: 1800000000}},
		{Name: "zero", Location: &routeguide.Point{}},
	}
	inputs := map[string]string{
		"bare array": `[
			{"location": {"latitude": 1, "longitude": 2}, "name": "A"},
			{"location": {"latitude": -900000000, "longitude": 1800000000}, "name": ""},
			{"location": {}, "name": "zero"}
		]`,
		"feature object": `{"feature": [
			{"name": "A", "location": {"latitude": 1, "longitude": 2}},
			{"location": {"latitude": -900000000, "longitude": 1800000000}},
			{"name": "zero", "location": {"latitude": 0}}
		]}`,
	}
	for form, input := range inputs {
		got, err := Parse([]byte(input))
		if err != nil {
			t.Fatalf("%s: Parse: %v", form, err)
		}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("%s: Parse mismatch (-want +got):\n%s", form, diff)
		}
	}
}

func TestParseFeaturesEmpty(t *testing.T) {
	t.Parallel()
	for _, input := range []string{`[]`, `{"feature": []}`, `{}`, " \n[ ]\n"} {
		got, err := Parse([]byte(input))
		if err != nil || len(got) != 0 {
			t.Errorf("Parse(%q) = %d features, %v; want none and no error", input, len(got), err)
		}
	}
}

func TestParseFeaturesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty file", "", "no data"},
		{"not a dataset", `"features"`, "want a JSON array of features"},
		{"syntax error", "[\n  {\"name\": \"A\",}\n]", "line 2, column"},
		{"cut short", `[{"name": "A", "location": {"latitude": 1`, "cut short"},
		{"string coordinate", `[{"location": {"latitude": "1"}}]`, "location.latitude: want int32"},
		{"coordinate beyond int32", `[{"location": {"latitude": 3000000000}}]`, "want int32"},
		{"fractional coordinate", `[{"location": {"latitude": 40.5}}]`, "want int32"},
		{"misspelt field", `[{"location": {"lattitude": 1}}]`, `unknown field "lattitude"`},
		{"unknown top-level key", `{"features": []}`, `unknown field "features"`},
		{"missing location", `[{"name": "Nowhere"}]`, `feature 0 ("Nowhere"): location is required`},
		{"latitude out of range", `[{"name": "A", "location": {}}, {"name": "B", "location": {"latitude": 900000001}}]`,
			`feature 1 ("B"): location.latitude 900000001 is out of range`},
		{"longitude out of range", `[{"location": {"longitude": -1800000001}}]`, "location.longitude -1800000001 is out of range"},
		{"trailing data", `[] []`, "unexpected data after the dataset"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.input))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Parse(%q) = %v, want an error containing %q", tt.name, tt.input, err, tt.wantErr)
		}
	}
}

func TestLoadFeaturesNamesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"name": "x"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.json")} {
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Load(%s) = %v, want an error naming the file", path, err)
		}
	}
}

func TestDefaultFeatures(t *testing.T) {
	t.Parallel()
	features := Default()
	if len(features) < 50 {
		t.Fatalf("Default has %d features, want a real dataset", len(features))
	}
	unnamed := 0
	for _, f := range features {
		if f.GetName() == "" {
			unnamed++
		}
	}
	if unnamed == 0 || unnamed == len(features) {
		t.Errorf("Default has %d unnamed features of %d; want some of each", unnamed, len(features))
	}
	// Each call gives the caller its own copy.
	features[0].Name = "changed"
	if Default()[0].GetName() == "changed" {
		t.Error("Default returned shared messages")
	}
}
