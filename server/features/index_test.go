package features

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/synthetic"
	"github.com/routeguide/routeguide/server/geo"
)

// randomFeatures draws n features from a grid of side×side locations, so
// that small grids give many duplicate locations and shared coordinates,
// the cases where a k-d tree's ties go wrong.
func randomFeatures(rng *rand.Rand, n int, side int32) []*routeguide.Feature {
	features := make([]*routeguide.Feature, n)
	for i := range features {
		features[i] = &routeguide.Feature{
			Name: fmt.Sprint("f", i)[:rng.IntN(3)], // some empty, some repeated
			Location: &routeguide.Point{
				Latitude:  rng.Int32N(side) - side/2,
				Longitude: rng.Int32N(side) - side/2,
			},
		}
	}
	return features
}

func randomBounds(rng *rand.Rand, side int32) geo.Bounds {
	// Reach a little beyond the grid so empty and all-covering rectangles
	// come up too.
	coord := func() int32 { return rng.Int32N(side+4) - side/2 - 2 }
	lat1, lat2, lon1, lon2 := coord(), coord(), coord(), coord()
	if rng.IntN(8) == 0 {
		lat2 = lat1 // a line, or with the next a single geo.Point
	}
	if rng.IntN(8) == 0 {
		lon2 = lon1
	}
	return geo.Bounds{
		MinLatitude: min(lat1, lat2), MaxLatitude: max(lat1, lat2),
		MinLongitude: min(lon1, lon2), MaxLongitude: max(lon1, lon2),
	}
}

func linearWithin(features []*routeguide.Feature, b geo.Bounds) []int {
	var found []int
	for i, f := range features {
		if b.Contains(geo.PointOf(f.GetLocation())) {
			found = append(found, i)
		}
	}
	return found
}

func linearAt(features []*routeguide.Feature, p geo.Point) (int, bool) {
	for i, f := range features {
		if geo.PointOf(f.GetLocation()) == p {
			return i, true
		}
	}
	return 0, false
}

func mustIndex(t testing.TB, features []*routeguide.Feature) *Index {
	t.Helper()
	index, err := New(features)
	if err != nil {
		t.Fatal(err)
	}
	return index
}

// TestFeatureIndexMatchesLinearScan checks the index against the reference
// servers' linear scans on random data: the same features, in the same
// (dataset) order, for rectangles of every size, and the same answer for
// every geo.Point lookup.
func TestFeatureIndexMatchesLinearScan(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 7, 8, 9, 17, 100, 1000, 5000} {
		for _, side := range []int32{1, 3, 16, 200, 1 << 20} {
			t.Run(fmt.Sprintf("n=%d/side=%d", n, side), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(n), uint64(side)))
				features := randomFeatures(rng, n, side)
				index := mustIndex(t, features)
				for i, want := range features {
					if got := index.Feature(i); !proto.Equal(got, want) {
						t.Fatalf("feature(%d) = %v, want %v", i, got, want)
					}
				}
				for range 200 {
					b := randomBounds(rng, side)
					got := slices.Collect(index.Within(b))
					want := linearWithin(features, b)
					if !slices.Equal(got, want) {
						t.Fatalf("within(%+v): got %d features, want %d (or a different order)",
							b, len(got), len(want))
					}
				}
				for range 200 {
					p := geo.Point{Latitude: rng.Int32N(side+2) - side/2 - 1, Longitude: rng.Int32N(side+2) - side/2 - 1}
					got, gotOK := index.At(p)
					want, wantOK := linearAt(features, p)
					if got != want || gotOK != wantOK {
						t.Fatalf("at(%+v) = %v, %t; want %v, %t", p, got, gotOK, want, wantOK)
					}
				}
			})
		}
	}
}

// TestFeatureIndexWithinStopsEarly checks that a caller that stops
// iterating, as ListFeatures does when a send fails, is not yielded to again,
// on both the tree and the scan paths.
func TestFeatureIndexWithinStopsEarly(t *testing.T) {
	t.Parallel()
	features := synthetic.Features(10_000, 1)
	index := mustIndex(t, features)
	for _, r := range []*routeguide.Rectangle{synthetic.Rectangle(10_000, 100), synthetic.Region} {
		b := geo.BoundsOf(r)
		want := linearWithin(features, b)
		if len(want) < 10 {
			t.Fatalf("rectangle %v holds %d features; the test needs 10", r, len(want))
		}
		var got []int
		for i := range index.Within(b) {
			got = append(got, i)
			if len(got) == 5 {
				break
			}
		}
		if !slices.Equal(got, want[:5]) {
			t.Errorf("first 5 of within(%v) differ from the scan's", r)
		}
	}
}

func TestSelectNthWithDuplicates(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	for range 500 {
		entries := make([]kdEntry, 1+rng.IntN(50))
		for i := range entries {
			entries[i].p = geo.Point{Latitude: rng.Int32N(4), Longitude: rng.Int32N(1000)}
		}
		n := rng.IntN(len(entries))
		axis := rng.IntN(2)
		selectNth(entries, n, axis, rng)
		pivot := coordinate(entries[n].p, axis)
		for i, e := range entries {
			c := coordinate(e.p, axis)
			if i < n && c > pivot || i > n && c < pivot {
				t.Fatalf("after selectNth(n=%d, axis=%d), entry %d has %d against the pivot %d",
					n, axis, i, c, pivot)
			}
		}
	}
}
