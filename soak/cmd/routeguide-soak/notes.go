package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// run names one run of the tool, so that its notes and locations differ
// from those of other runs against the same server.
type runID uint32

func newRunID() runID { return runID(rand.Uint32()) }

// locationsPerRow spaces locations 0.01° apart in rows of this many.
const locationsPerRow = 20_000

// location returns the i'th location of the run; up to 3,000,000 are
// distinct and valid.
func (r runID) location(i int) *routeguide.Point {
	return &routeguide.Point{
		Latitude:  int32(-850_000_000 + (i/locationsPerRow)*100_000 + int(r%50_000)),
		Longitude: int32(-1_700_000_000 + (i%locationsPerRow)*100_000 + int(r>>16%50_000)),
	}
}

// locationIndex inverts location, or returns false for a point that is not
// one of the run's.
func (r runID) locationIndex(p *routeguide.Point) (int, bool) {
	lat := int(p.GetLatitude()) + 850_000_000 - int(r%50_000)
	lon := int(p.GetLongitude()) + 1_700_000_000 - int(r>>16%50_000)
	if lat < 0 || lon < 0 || lat%100_000 != 0 || lon%100_000 != 0 || lon/100_000 >= locationsPerRow {
		return 0, false
	}
	return lat/100_000*locationsPerRow + lon/100_000, true
}

// message returns the text of a note: unique to the run, client and
// sequence number, padded with pad bytes.
func (r runID) message(id noteID, pad string) string {
	return fmt.Sprintf("soak-%08x-c%d-n%d%s", uint32(r), id.client(), id.seq(), pad)
}

// noteOf parses a message made by message.
func (r runID) noteOf(message string) (noteID, bool) {
	rest, ok := strings.CutPrefix(message, fmt.Sprintf("soak-%08x-c", uint32(r)))
	if !ok {
		return 0, false
	}
	c, rest, ok := strings.Cut(rest, "-n")
	if !ok {
		return 0, false
	}
	seq := strings.TrimRight(rest, ".")
	client, err1 := strconv.Atoi(c)
	n, err2 := strconv.Atoi(seq)
	if err1 != nil || err2 != nil || client < 0 || n < 0 {
		return 0, false
	}
	return newNoteID(client, n), true
}
