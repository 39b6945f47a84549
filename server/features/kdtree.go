package features

import (
	"math/rand/v2"

	"github.com/routeguide/routeguide/server/geo"
)

// kdTree is a static two-dimensional k-d tree over the locations of a
// dataset, stored implicitly in one slice: the median of each range is its
// node, the half before it the left subtree and the half after it the right.
// Levels alternate between latitude (even depths) and longitude. It takes
// 12 bytes a feature and no pointers, so a large dataset costs the garbage
// collector nothing to scan.
type kdTree struct {
	entries []kdEntry
}

// kdEntry is a location and the position in the dataset of its feature.
type kdEntry struct {
	p     geo.Point
	index int32
}

// kdLeafSize is the size below which a range is scanned rather than split:
// comparing a few entries in a row is cheaper than descending further.
const kdLeafSize = 8

// newKDTree indexes points, which must number at most math.MaxInt32.
func newKDTree(points []geo.Point) kdTree {
	entries := make([]kdEntry, len(points))
	for i, p := range points {
		entries[i] = kdEntry{p: p, index: int32(i)}
	}
	// A fixed seed keeps the layout, and so the cost of a query, the same
	// from run to run; the pivots only need to be unpredictable to the data.
	rng := rand.New(rand.NewPCG(0x5eed, 0x6b64))
	buildKD(entries, 0, rng)
	return kdTree{entries: entries}
}

func buildKD(entries []kdEntry, depth int, rng *rand.Rand) {
	for len(entries) > kdLeafSize {
		mid := len(entries) / 2
		selectNth(entries, mid, depth%2, rng)
		buildKD(entries[:mid], depth+1, rng)
		entries = entries[mid+1:]
		depth++
	}
}

func coordinate(p geo.Point, axis int) int32 {
	if axis == 0 {
		return p.Latitude
	}
	return p.Longitude
}

// selectNth reorders entries so that entries[n] holds the value it would hold
// if they were sorted along axis, with no greater value before it and no
// smaller one after. Three-way partitioning keeps it linear on average even
// when many entries share a coordinate.
func selectNth(entries []kdEntry, n, axis int, rng *rand.Rand) {
	lo, hi := 0, len(entries)
	for hi-lo > 1 {
		pivot := coordinate(entries[lo+rng.IntN(hi-lo)].p, axis)
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch c := coordinate(entries[i].p, axis); {
			case c < pivot:
				entries[lt], entries[i] = entries[i], entries[lt]
				lt++
				i++
			case c > pivot:
				gt--
				entries[i], entries[gt] = entries[gt], entries[i]
			default:
				i++
			}
		}
		switch {
		case n < lt:
			hi = lt
		case n >= gt:
			lo = gt
		default:
			return // entries[lt:gt] all equal the pivot, and n is among them
		}
	}
}

// search appends to dst the dataset positions of the entries inside b, in
// no particular order. It gives up and returns false once it has found more
// than limit.
func (t kdTree) search(b geo.Bounds, dst []int32, limit int) ([]int32, bool) {
	s := kdSearch{b: b, found: dst, limit: limit}
	ok := s.visit(t.entries, 0)
	return s.found, ok
}

type kdSearch struct {
	b     geo.Bounds
	found []int32
	limit int
}

func (s *kdSearch) visit(entries []kdEntry, depth int) bool {
	for len(entries) > kdLeafSize {
		mid := len(entries) / 2
		node := entries[mid]
		axis := depth % 2
		c := coordinate(node.p, axis)
		lo, hi := s.b.MinLatitude, s.b.MaxLatitude
		if axis == 1 {
			lo, hi = s.b.MinLongitude, s.b.MaxLongitude
		}
		if lo <= c && !s.visit(entries[:mid], depth+1) {
			return false
		}
		if s.b.Contains(node.p) && !s.add(node.index) {
			return false
		}
		if hi < c {
			return true
		}
		entries = entries[mid+1:]
		depth++
	}
	for _, e := range entries {
		if s.b.Contains(e.p) && !s.add(e.index) {
			return false
		}
	}
	return true
}

func (s *kdSearch) add(index int32) bool {
	s.found = append(s.found, index)
	return len(s.found) <= s.limit
}
