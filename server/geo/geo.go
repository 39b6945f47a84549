// Package geo holds the geometry of RouteGuide: points and rectangles in E7
// coordinates, their validation, and distances along the Earth's surface.
package geo

import (
	"errors"
	"fmt"
	"math"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// The valid range of coordinates, in E7 units: degrees multiplied by 10^7.
const (
	MaxLatitudeE7  int32 = 900_000_000
	MaxLongitudeE7 int32 = 1_800_000_000
)

// earthRadiusMetres is the mean radius of the Earth used by the reference
// RouteGuide servers; keeping it makes our distances equal theirs.
const earthRadiusMetres = 6_371_000

// CheckPoint reports whether p is present and within the valid range of
// latitude and longitude. field names p in the error, as the caller sees it;
// it may be empty when the point is the whole message.
func CheckPoint(field string, p *routeguide.Point) error {
	if p == nil {
		return fmt.Errorf("%s is required", field)
	}
	if lat := p.GetLatitude(); lat < -MaxLatitudeE7 || lat > MaxLatitudeE7 {
		return fmt.Errorf("%s %d is out of range: must be within ±%d (±90° in E7 units)",
			fieldPath(field, "latitude"), lat, MaxLatitudeE7)
	}
	if lon := p.GetLongitude(); lon < -MaxLongitudeE7 || lon > MaxLongitudeE7 {
		return fmt.Errorf("%s %d is out of range: must be within ±%d (±180° in E7 units)",
			fieldPath(field, "longitude"), lon, MaxLongitudeE7)
	}
	return nil
}

func fieldPath(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// CheckRectangle reports whether both corners of r are present and valid.
func CheckRectangle(r *routeguide.Rectangle) error {
	return errors.Join(CheckPoint("lo", r.GetLo()), CheckPoint("hi", r.GetHi()))
}

// Point is a comparable form of a routeguide.Point, for use as a map key.
type Point struct {
	Latitude, Longitude int32
}

// PointOf returns the comparable form of p; a nil p is the origin.
func PointOf(p *routeguide.Point) Point {
	return Point{Latitude: p.GetLatitude(), Longitude: p.GetLongitude()}
}

// Bounds is a rectangle with its corners put in order.
type Bounds struct {
	MinLatitude, MaxLatitude   int32
	MinLongitude, MaxLongitude int32
}

// BoundsOf accepts the corners of r in either order, as the reference
// servers do.
func BoundsOf(r *routeguide.Rectangle) Bounds {
	lo, hi := r.GetLo(), r.GetHi()
	return Bounds{
		MinLatitude:  min(lo.GetLatitude(), hi.GetLatitude()),
		MaxLatitude:  max(lo.GetLatitude(), hi.GetLatitude()),
		MinLongitude: min(lo.GetLongitude(), hi.GetLongitude()),
		MaxLongitude: max(lo.GetLongitude(), hi.GetLongitude()),
	}
}

// Contains reports whether p is inside b, edges included.
func (b Bounds) Contains(p Point) bool {
	return p.Latitude >= b.MinLatitude && p.Latitude <= b.MaxLatitude &&
		p.Longitude >= b.MinLongitude && p.Longitude <= b.MaxLongitude
}

// HoldsEveryPoint reports whether b contains every valid point: the
// whole world.
func (b Bounds) HoldsEveryPoint() bool {
	return b.MinLatitude <= -MaxLatitudeE7 && b.MaxLatitude >= MaxLatitudeE7 &&
		b.MinLongitude <= -MaxLongitudeE7 && b.MaxLongitude >= MaxLongitudeE7
}

// DistanceMetres returns the great-circle distance between p and q by the
// haversine formula, truncated to whole metres as the reference servers do.
// The result is at most half the Earth's circumference, well within int32.
func DistanceMetres(p, q Point) int32 {
	lat1, lon1 := radians(p.Latitude), radians(p.Longitude)
	lat2, lon2 := radians(q.Latitude), radians(q.Longitude)
	sinHalfLat := math.Sin((lat2 - lat1) / 2)
	sinHalfLon := math.Sin((lon2 - lon1) / 2)
	a := sinHalfLat*sinHalfLat + math.Cos(lat1)*math.Cos(lat2)*sinHalfLon*sinHalfLon
	c := 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))
	return int32(earthRadiusMetres * c)
}

func radians(e7 int32) float64 {
	return float64(e7) / 1e7 * math.Pi / 180
}
