package server

import (
	"errors"
	"fmt"
	"math"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// Coordinates are in E7 units: degrees multiplied by 10^7.
const (
	maxLatitudeE7  int32 = 900_000_000
	maxLongitudeE7 int32 = 1_800_000_000
)

// earthRadiusMetres is the mean radius of the Earth used by the reference
// RouteGuide servers; keeping it makes our distances equal theirs.
const earthRadiusMetres = 6_371_000

// checkPoint reports whether p is present and within the valid range of
// latitude and longitude. field names p in the error, as the caller sees it;
// it may be empty when the point is the whole message.
func checkPoint(field string, p *routeguide.Point) error {
	if p == nil {
		return fmt.Errorf("%s is required", field)
	}
	if lat := p.GetLatitude(); lat < -maxLatitudeE7 || lat > maxLatitudeE7 {
		return fmt.Errorf("%s %d is out of range: must be within ±%d (±90° in E7 units)",
			fieldPath(field, "latitude"), lat, maxLatitudeE7)
	}
	if lon := p.GetLongitude(); lon < -maxLongitudeE7 || lon > maxLongitudeE7 {
		return fmt.Errorf("%s %d is out of range: must be within ±%d (±180° in E7 units)",
			fieldPath(field, "longitude"), lon, maxLongitudeE7)
	}
	return nil
}

func fieldPath(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// checkRectangle reports whether both corners of r are present and valid.
func checkRectangle(r *routeguide.Rectangle) error {
	return errors.Join(checkPoint("lo", r.GetLo()), checkPoint("hi", r.GetHi()))
}

// point is a comparable form of a Point, for use as a map key.
type point struct {
	latitude, longitude int32
}

func pointOf(p *routeguide.Point) point {
	return point{latitude: p.GetLatitude(), longitude: p.GetLongitude()}
}

// bounds is a rectangle with its corners put in order.
type bounds struct {
	minLatitude, maxLatitude   int32
	minLongitude, maxLongitude int32
}

// boundsOf accepts the corners of r in either order, as the reference
// servers do.
func boundsOf(r *routeguide.Rectangle) bounds {
	lo, hi := r.GetLo(), r.GetHi()
	return bounds{
		minLatitude:  min(lo.GetLatitude(), hi.GetLatitude()),
		maxLatitude:  max(lo.GetLatitude(), hi.GetLatitude()),
		minLongitude: min(lo.GetLongitude(), hi.GetLongitude()),
		maxLongitude: max(lo.GetLongitude(), hi.GetLongitude()),
	}
}

// contains includes the edges of b.
func (b bounds) contains(p point) bool {
	return p.latitude >= b.minLatitude && p.latitude <= b.maxLatitude &&
		p.longitude >= b.minLongitude && p.longitude <= b.maxLongitude
}

// distanceMetres returns the great-circle distance between p and q by the
// haversine formula, truncated to whole metres as the reference servers do.
// The result is at most half the Earth's circumference, well within int32.
func distanceMetres(p, q point) int32 {
	lat1, lon1 := radians(p.latitude), radians(p.longitude)
	lat2, lon2 := radians(q.latitude), radians(q.longitude)
	sinHalfLat := math.Sin((lat2 - lat1) / 2)
	sinHalfLon := math.Sin((lon2 - lon1) / 2)
	a := sinHalfLat*sinHalfLat + math.Cos(lat1)*math.Cos(lat2)*sinHalfLon*sinHalfLon
	c := 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))
	return int32(earthRadiusMetres * c)
}

func radians(e7 int32) float64 {
	return float64(e7) / 1e7 * math.Pi / 180
}
