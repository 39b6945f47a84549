package dataset

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/synthetic"
)

// checkFastAgreesWithStrict fails t if the fast parser accepts data and the
// strict one does not, or if they give different features.
func checkFastAgreesWithStrict(t *testing.T, data []byte) (fastOK bool) {
	t.Helper()
	fast, ok := parseDatasetFast(data)
	strict, err := parseDatasetStrict(data)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("fast parser accepted %q; strict parser: %v", data, err)
	}
	if len(fast) != len(strict) {
		t.Fatalf("fast parser gave %d features, strict %d, for %q", len(fast), len(strict), data)
	}
	for i := range fast {
		if !proto.Equal(fast[i], strict[i]) {
			t.Fatalf("feature %d: fast %v, strict %v, for %q", i, fast[i], strict[i], data)
		}
	}
	return true
}

var datasetSamples = []string{
	`[]`,
	` [ ] `,
	`{"feature": []}`,
	`[{"location":{"latitude":1,"longitude":-2},"name":"a"}]`,
	`[{"name":"a","location":{"longitude":-2,"latitude":1}}]`,
	`[{"location":{}}]`,
	`[{"location":{"latitude":-0,"longitude":0}}]`,
	`[{"location":{"latitude":900000000,"longitude":-1800000000}}]`,
	`[{"location":{"latitude":900000001,"longitude":0}}]`,
	`[{"location":{"latitude":2147483648,"longitude":0}}]`,
	`[{"location":{"latitude":01,"longitude":0}}]`,
	`[{"location":{"latitude":1.0,"longitude":0}}]`,
	`[{"location":{"latitude":1e3,"longitude":0}}]`,
	`[{"location":{"latitude":"1","longitude":0}}]`,
	`[{"name":"x"}]`,
	`[{"location":null}]`,
	`[{"location":{"latitude":1},"location":{"longitude":2}}]`,
	`[{"Location":{"Latitude":1}}]`,
	`[{"location":{},"name":"a","name":"b"}]`,
	`[{"location":{},"name":null}]`,
	`[{"location":{},"name":"caf\u00e9 \"x\" \\ \/"}]`,
	`[{"location":{},"name":"café ☕"}]`,
	"[{\"location\":{},\"name\":\"bad \xff byte\"}]",
	"[{\"location\":{},\"name\":\"tab\there\"}]",
	`[{"location":{},"extra":1}]`,
	`[{"location":{}},]`,
	`[{"location":{}}] x`,
	`[null]`,
	`{"feature": [{"location":{"latitude":5}}], "other": 1}`,
	`{"feature": null}`,
	`{}`,
	`[{"location":{"latitude":-}}]`,
}

func TestParseDatasetFastAgreesWithStrict(t *testing.T) {
	t.Parallel()
	accepted := 0
	for _, sample := range datasetSamples {
		if checkFastAgreesWithStrict(t, []byte(sample)) {
			accepted++
		}
	}
	// The plain samples must take the fast path, or it does not pay.
	if accepted < 8 {
		t.Errorf("the fast parser accepted only %d samples", accepted)
	}
}

// TestParseDatasetFastOnGeneratedData checks the fast path against the
// strict one on large datasets written with varied spacing and key order,
// and that Parse takes the fast path for them.
func TestParseDatasetFastOnGeneratedData(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 10, 3000} {
		features := synthetic.Features(n, uint64(n))
		var compact bytes.Buffer
		if err := synthetic.WriteJSON(&compact, features); err != nil {
			t.Fatal(err)
		}
		for _, data := range [][]byte{compact.Bytes(), indented(rng, features, false), indented(rng, features, true)} {
			if !checkFastAgreesWithStrict(t, data) {
				t.Fatalf("fast parser rejected a generated dataset of %d features: %.200q", n, data)
			}
		}
	}
}

// indented writes features in the style of the canonical files, with
// random spacing and key order, optionally wrapped as {"feature": [...]}.
func indented(rng *rand.Rand, features []*routeguide.Feature, wrapped bool) []byte {
	space := func() string { return [...]string{"", " ", "\n    ", "\t", "\r\n"}[rng.IntN(5)] }
	var b strings.Builder
	if wrapped {
		b.WriteString(`{ "feature" :`)
	}
	b.WriteString("[" + space())
	for i, f := range features {
		if i > 0 {
			b.WriteString("," + space())
		}
		location := fmt.Sprintf(`"location":%s{%s"latitude":%d,%s"longitude":%s%d}`,
			space(), space(), f.GetLocation().GetLatitude(), space(), space(), f.GetLocation().GetLongitude())
		name := fmt.Sprintf(`"name":%s%q`, space(), f.GetName())
		if rng.IntN(2) == 0 {
			location, name = name, location
		}
		b.WriteString("{" + space() + location + "," + space() + name + space() + "}")
	}
	b.WriteString(space() + "]")
	if wrapped {
		b.WriteString("}")
	}
	return []byte(b.String())
}

// FuzzParseDatasetFast holds the fast parser to the strict one: whatever it
// accepts, the strict parser accepts too, with the same result.
func FuzzParseDatasetFast(f *testing.F) {
	for _, sample := range datasetSamples {
		f.Add([]byte(sample))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastAgreesWithStrict(t, data)
	})
}
