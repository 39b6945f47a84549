package dataset

import (
	"encoding/json"
	"testing"

	"github.com/routeguide/routeguide/server/geo"
)

func FuzzParseFeatures(f *testing.F) {
	f.Add([]byte(`[{"location": {"latitude": 1, "longitude": 2}, "name": "A"}]`))
	f.Add([]byte(`{"feature": [{"name": "", "location": {}}]}`))
	f.Add([]byte(`[{"location": {"latitude": 900000001}}]`))
	f.Add([]byte(`{"feature": null}`))
	f.Add([]byte("[\n{\"name\": \"x\",}\n]"))
	f.Add(defaultFeaturesJSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		features, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		// What parses is valid, and reads back the same in the other form.
		raw := make([]jsonFeature, len(features))
		for i, f := range features {
			if err := geo.CheckPoint("location", f.GetLocation()); err != nil {
				t.Fatalf("Parse accepted an invalid feature: %v", err)
			}
			raw[i].Name = f.GetName()
			raw[i].Location = &struct {
				Latitude  int32 `json:"latitude"`
				Longitude int32 `json:"longitude"`
			}{f.GetLocation().GetLatitude(), f.GetLocation().GetLongitude()}
		}
		wrapped, _ := json.Marshal(map[string]any{"feature": raw})
		again, err := Parse(wrapped)
		if err != nil || len(again) != len(features) {
			t.Fatalf("the {\"feature\": [...]} form of an accepted dataset does not read back: %v", err)
		}
	})
}

// FuzzHandler feeds arbitrary request bodies to every procedure over every
// protocol of an in-process server: nothing may panic, and the server must
