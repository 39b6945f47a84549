package geo

import (
	"strings"
	"testing"

	"github.com/routeguide/routeguide/gen/routeguide"
)

func FuzzCheckPoint(f *testing.F) {
	f.Add(int32(0), int32(0))
	f.Add(int32(900_000_000), int32(-1_800_000_000))
	f.Add(int32(900_000_001), int32(0))
	f.Add(int32(-2147483648), int32(2147483647))
	f.Fuzz(func(t *testing.T, lat, lon int32) {
		err := CheckPoint("p", &routeguide.Point{Latitude: lat, Longitude: lon})
		valid := lat >= -900_000_000 && lat <= 900_000_000 && lon >= -1_800_000_000 && lon <= 1_800_000_000
		if valid != (err == nil) {
			t.Fatalf("CheckPoint(%d, %d) = %v, but the Point is valid: %v", lat, lon, err, valid)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "p.") {
			t.Fatalf("error %q does not name the field", err)
		}
		rect := &routeguide.Rectangle{Lo: &routeguide.Point{}, Hi: &routeguide.Point{Latitude: lat, Longitude: lon}}
		if rectErr := CheckRectangle(rect); (rectErr == nil) != valid {
			t.Fatalf("CheckRectangle with hi (%d, %d) = %v", lat, lon, rectErr)
		}
		if valid {
			b := BoundsOf(rect)
			if !b.Contains(Point{}) || !b.Contains(Point{Latitude: lat, Longitude: lon}) {
				t.Fatalf("Bounds %+v do not hold their own corners", b)
			}
			if d := DistanceMetres(Point{}, Point{Latitude: lat, Longitude: lon}); d < 0 || d > 20_015_087 {
				t.Fatalf("distance to (%d, %d) = %d m, beyond half the Earth", lat, lon, d)
			}
		}
	})
}
