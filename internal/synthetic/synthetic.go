// Package synthetic generates reproducible RouteGuide datasets of any size,
// for benchmarks and tests that need more than the canonical 100 features.
package synthetic

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// Region is where Features places its points: a box of 2.5° of latitude by
// 3° of longitude around New York, the area of the canonical dataset. The
// units are E7 (degrees × 10^7).
var Region = &routeguide.Rectangle{
	Lo: &routeguide.Point{Latitude: 395_000_000, Longitude: -755_000_000},
	Hi: &routeguide.Point{Latitude: 420_000_000, Longitude: -725_000_000},
}

var (
	streets = []string{"Main", "Oak", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill",
		"Park", "Pine", "Ridge", "River", "Church", "Mill", "Spring", "Valley"}
	kinds  = []string{"Street", "Road", "Avenue", "Lane", "Drive", "Turnpike"}
	towns  = []string{"Mendham", "Whippany", "Shohola", "Kingston", "Beacon", "Newton", "Milford", "Warwick"}
	states = []string{"NJ", "NY", "PA", "CT"}
)

// Features returns n features spread uniformly over Region, named like
// street addresses of the canonical dataset; about one in ten has no name,
// as some canonical ones do. The same n and seed always give the same
// features, in the same order.
func Features(n int, seed uint64) []*routeguide.Feature {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	latSpan := Region.Hi.Latitude - Region.Lo.Latitude
	lonSpan := Region.Hi.Longitude - Region.Lo.Longitude
	features := make([]*routeguide.Feature, n)
	for i := range features {
		f := &routeguide.Feature{Location: &routeguide.Point{
			Latitude:  Region.Lo.Latitude + rng.Int32N(latSpan+1),
			Longitude: Region.Lo.Longitude + rng.Int32N(lonSpan+1),
		}}
		if rng.IntN(10) != 0 {
			f.Name = fmt.Sprintf("%d %s %s, %s, %s %05d, USA",
				1+rng.IntN(999), streets[rng.IntN(len(streets))], kinds[rng.IntN(len(kinds))],
				towns[rng.IntN(len(towns))], states[rng.IntN(len(states))], rng.IntN(100_000))
		}
		features[i] = f
	}
	return features
}

// Rectangle returns a rectangle in the middle of Region expected to hold
// about want of n features made by Features: its sides are the same fraction
// of Region's, so its area is want/n of Region's. With want ≥ n it is Region.
func Rectangle(n, want int) *routeguide.Rectangle {
	if want >= n {
		return &routeguide.Rectangle{Lo: clonePoint(Region.Lo), Hi: clonePoint(Region.Hi)}
	}
	side := math.Sqrt(float64(want) / float64(n))
	latSpan := float64(Region.Hi.Latitude - Region.Lo.Latitude)
	lonSpan := float64(Region.Hi.Longitude - Region.Lo.Longitude)
	latCentre := (Region.Lo.Latitude + Region.Hi.Latitude) / 2
	lonCentre := (Region.Lo.Longitude + Region.Hi.Longitude) / 2
	halfLat, halfLon := int32(latSpan*side/2), int32(lonSpan*side/2)
	return &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: latCentre - halfLat, Longitude: lonCentre - halfLon},
		Hi: &routeguide.Point{Latitude: latCentre + halfLat, Longitude: lonCentre + halfLon},
	}
}

func clonePoint(p *routeguide.Point) *routeguide.Point {
	return &routeguide.Point{Latitude: p.Latitude, Longitude: p.Longitude}
}

// WriteJSON writes features as a bare JSON array, the form of the grpc-go
// example's route_guide_db.json, which dataset.Load reads. It writes
// one feature a line so that the output stays diffable and quick to produce.
func WriteJSON(w io.Writer, features []*routeguide.Feature) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("[")
	var buf []byte
	for i, f := range features {
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n{\"location\":{\"latitude\":"...)
		buf = strconv.AppendInt(buf, int64(f.GetLocation().GetLatitude()), 10)
		buf = append(buf, ",\"longitude\":"...)
		buf = strconv.AppendInt(buf, int64(f.GetLocation().GetLongitude()), 10)
		buf = append(buf, "},\"name\":"...)
		name, err := json.Marshal(f.GetName())
		if err != nil {
			return fmt.Errorf("feature %d: %w", i, err)
		}
		buf = append(buf, name...)
		buf = append(buf, '}')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}
