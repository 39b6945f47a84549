package dataset

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/geo"
)

// parseDatasetFast decodes the plain datasets found in practice about ten
// times faster than encoding/json and with a fraction of its garbage: a
// million features load in well under a second. It accepts only a subset of
// what the strict decoder accepts, and gives the same features for it; for
// anything else, from a misspelt key to a duplicate one or a bad number, it
// returns false and Parse decodes strictly, so that errors read the
// same whichever path ran. FuzzParseDatasetFast holds it to that.
func parseDatasetFast(data []byte) ([]*routeguide.Feature, bool) {
	s := datasetScanner{data: data}
	s.space()
	wrapped := s.consume('{')
	if wrapped {
		if key, ok := s.key(); !ok || key != "feature" {
			return nil, false
		}
	}
	features, ok := s.array()
	if !ok {
		return nil, false
	}
	if wrapped && !s.consume('}') {
		return nil, false
	}
	if s.space(); s.pos != len(s.data) {
		return nil, false
	}
	for _, f := range features {
		if geo.CheckPoint("location", f.Location) != nil {
			return nil, false
		}
	}
	return features, true
}

type datasetScanner struct {
	data []byte
	pos  int
	// features and points are slabs that messages are carved from, so that
	// a large dataset costs a few large allocations rather than two small
	// ones a feature.
	features []routeguide.Feature
	points   []routeguide.Point
}

const slabSize = 1024

func (s *datasetScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// consume skips space and then c, if c is next.
func (s *datasetScanner) consume(c byte) bool {
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *datasetScanner) array() ([]*routeguide.Feature, bool) {
	if !s.consume('[') {
		return nil, false
	}
	features := make([]*routeguide.Feature, 0, len(s.data)/100)
	if s.consume(']') {
		return features, true
	}
	for {
		f, ok := s.feature()
		if !ok {
			return nil, false
		}
		features = append(features, f)
		if s.consume(']') {
			return features, true
		}
		if !s.consume(',') {
			return nil, false
		}
	}
}

func (s *datasetScanner) feature() (*routeguide.Feature, bool) {
	if len(s.features) == 0 {
		// Each feature takes more than 64 bytes of JSON in practice, so
		// a small dataset gets a small slab.
		size := min(slabSize, len(s.data)/64+1)
		s.features = make([]routeguide.Feature, size)
		s.points = make([]routeguide.Point, size)
	}
	f, p := &s.features[0], &s.points[0]
	s.features, s.points = s.features[1:], s.points[1:]
	var sawName bool
	if !s.consume('{') {
		return nil, false
	}
	for more := !s.consume('}'); more; {
		key, ok := s.key()
		switch {
		case !ok:
			return nil, false
		case key == "name" && !sawName:
			sawName = true
			if f.Name, ok = s.string(); !ok {
				return nil, false
			}
		case key == "location" && f.Location == nil:
			f.Location = p
			if !s.point(p) {
				return nil, false
			}
		default:
			return nil, false
		}
		if more, ok = s.next(); !ok {
			return nil, false
		}
	}
	// A feature with no location is an error the strict path words.
	return f, f.Location != nil
}

func (s *datasetScanner) point(p *routeguide.Point) bool {
	var sawLatitude, sawLongitude bool
	if !s.consume('{') {
		return false
	}
	for more := !s.consume('}'); more; {
		key, ok := s.key()
		switch {
		case !ok:
			return false
		case key == "latitude" && !sawLatitude:
			sawLatitude = true
			p.Latitude, ok = s.int32()
		case key == "longitude" && !sawLongitude:
			sawLongitude = true
			p.Longitude, ok = s.int32()
		default:
			return false
		}
		if !ok {
			return false
		}
		if more, ok = s.next(); !ok {
			return false
		}
	}
	return true
}

// next reads what follows a member of an object: a comma before another
// member, or the closing brace.
func (s *datasetScanner) next() (more, ok bool) {
	if s.consume(',') {
		return true, true
	}
	return false, s.consume('}')
}

// key reads an object key and the colon after it. It returns the key only
// if it is one of the dataset's, which saves allocating a string for it.
func (s *datasetScanner) key() (string, bool) {
	raw, plain, ok := s.rawString()
	if !ok || !s.consume(':') {
		return "", false
	}
	if plain {
		switch string(raw[1 : len(raw)-1]) {
		case "name":
			return "name", true
		case "location":
			return "location", true
		case "latitude":
			return "latitude", true
		case "longitude":
			return "longitude", true
		case "feature":
			return "feature", true
		}
		return "", true
	}
	return unquote(raw)
}

// string reads a JSON string.
func (s *datasetScanner) string() (string, bool) {
	raw, plain, ok := s.rawString()
	if !ok {
		return "", false
	}
	if plain {
		return string(raw[1 : len(raw)-1]), true
	}
	return unquote(raw)
}

// rawString reads a JSON string and returns it with its quotes. It is plain
// if it is valid UTF-8 without escapes, so that it reads as it is; anything
// else is left to unquote.
func (s *datasetScanner) rawString() (raw []byte, plain, ok bool) {
	if !s.consume('"') {
		return nil, false, false
	}
	start := s.pos - 1
	plain = true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			raw = s.data[start:s.pos]
			return raw, plain && utf8.Valid(raw), true
		case c == '\\':
			plain = false
			s.pos += 2
		case c < 0x20:
			return nil, false, false
		default:
			s.pos++
		}
	}
	return nil, false, false
}

// unquote decodes a quoted JSON string with encoding/json, so that escapes
// and invalid bytes decode exactly as the strict path decodes them.
func unquote(raw []byte) (string, bool) {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	return v, true
}

// int32 reads an integer as encoding/json reads one into an int32: no
// fraction, exponent or leading zero, and within range.
func (s *datasetScanner) int32() (int32, bool) {
	s.space()
	negative := s.pos < len(s.data) && s.data[s.pos] == '-'
	if negative {
		s.pos++
	}
	start := s.pos
	var v int64
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		v = v*10 + int64(s.data[s.pos]-'0')
		s.pos++
		if s.pos-start > 10 {
			return 0, false
		}
	}
	digits := s.pos - start
	if digits == 0 || digits > 1 && s.data[start] == '0' {
		return 0, false
	}
	if s.pos < len(s.data) {
		if c := s.data[s.pos]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	if negative {
		v = -v
	}
	if v < -1<<31 || v > 1<<31-1 {
		return 0, false
	}
	return int32(v), true
}
