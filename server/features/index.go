// Package features indexes a RouteGuide dataset: the feature at a point and
// the features inside a rectangle, found without a scan and kept compactly.
package features

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/geo"
)

// Index holds a dataset in its original order and finds features
// without a scan: the feature at a geo.Point through a hash map, and the features
// inside a rectangle through a k-d tree.
//
// It keeps the dataset in columns rather than as messages: every name in one
// string, every location in one slice. A million features take about 80 MB
// this way against some 200 MB as messages, and the garbage collector has
// almost no pointers to follow. Answers are built as messages when sent.
type Index struct {
	points []geo.Point
	names  string
	// nameEnds[i] is where the name of feature i ends in names; it starts
	// where the previous one ends.
	nameEnds []uint32
	// byPoint maps each location to the position of the first feature
	// there, so a dataset with duplicates answers GetFeature the way a scan
	// in order would.
	byPoint map[geo.Point]int32
	tree    kdTree
}

// New returns an index over features, which it copies. Every feature must
// have a location within the valid range of latitude and longitude.
func New(features []*routeguide.Feature) (*Index, error) {
	for i, f := range features {
		if err := geo.CheckPoint("location", f.GetLocation()); err != nil {
			return nil, fmt.Errorf("feature %d (%q): %w", i, f.GetName(), err)
		}
	}
	if len(features) > math.MaxInt32 {
		return nil, fmt.Errorf("%d features: at most %d are supported", len(features), math.MaxInt32)
	}
	x := &Index{
		points:   make([]geo.Point, len(features)),
		nameEnds: make([]uint32, len(features)),
		byPoint:  make(map[geo.Point]int32, len(features)),
	}
	size := 0
	for _, f := range features {
		size += len(f.GetName())
	}
	if size > math.MaxUint32 {
		return nil, fmt.Errorf("feature names take %d bytes: at most %d are supported", size, math.MaxUint32)
	}
	var names strings.Builder
	names.Grow(size)
	for i, f := range features {
		p := geo.PointOf(f.GetLocation())
		x.points[i] = p
		names.WriteString(f.GetName())
		x.nameEnds[i] = uint32(names.Len())
		if _, seen := x.byPoint[p]; !seen {
			x.byPoint[p] = int32(i)
		}
	}
	x.names = names.String()
	x.tree = newKDTree(x.points)
	return x, nil
}

// At returns the position of the feature at p, if there is one.
func (x *Index) At(p geo.Point) (int, bool) {
	i, ok := x.byPoint[p]
	return int(i), ok
}

// Name returns the name of feature i without copying it.
func (x *Index) Name(i int) string {
	start := uint32(0)
	if i > 0 {
		start = x.nameEnds[i-1]
	}
	return x.names[start:x.nameEnds[i]]
}

// Feature returns feature i as a new message.
func (x *Index) Feature(i int) *routeguide.Feature {
	f := &routeguide.Feature{Location: &routeguide.Point{}}
	x.Fill(i, f)
	return f
}

// Fill sets f to feature i, reusing f's Location if it has one, so that a
// stream can send every feature from one message.
func (x *Index) Fill(i int, f *routeguide.Feature) {
	if f.Location == nil {
		f.Location = &routeguide.Point{}
	}
	p := x.points[i]
	f.Name = x.Name(i)
	f.Location.Latitude = p.Latitude
	f.Location.Longitude = p.Longitude
}

// scanFraction is the share of the dataset above which within stops using
// the tree and scans instead. A rectangle holding more than n/scanFraction
// features costs Θ(n) to stream anyway, so the scan keeps within at
// O(log n + k) and saves sorting a large result.
const scanFraction = 8

// Within yields the positions of the features inside b in dataset order.
// It finds the matches through the tree and sorts them before yielding the
// first, which costs O(log n + k log k) for k matches on a balanced tree and
// well-spread data; when the rectangle holds a large part of the dataset it
// scans the dataset instead and yields each match as it finds it.
func (x *Index) Within(b geo.Bounds) iter.Seq[int] {
	return func(yield func(int) bool) {
		buf := matchPool.Get().(*[]int32)
		defer func() {
			// Keep only modest buffers, so one huge query does not pin
			// its memory for the life of the process.
			if cap(*buf) <= 1<<16 {
				*buf = (*buf)[:0]
				matchPool.Put(buf)
			}
		}()
		limit := max(len(x.points)/scanFraction, 64)
		matches, ok := x.tree.search(b, (*buf)[:0], limit)
		*buf = matches
		if !ok {
			x.scan(b, yield)
			return
		}
		slices.Sort(matches)
		for _, i := range matches {
			if !yield(int(i)) {
				return
			}
		}
	}
}

// matchPool recycles the buffers within collects positions in, so a
// ListFeatures call allocates nothing for its search.
var matchPool = sync.Pool{New: func() any { return new([]int32) }}

func (x *Index) scan(b geo.Bounds, yield func(int) bool) {
	for i, p := range x.points {
		if b.Contains(p) && !yield(i) {
			return
		}
	}
}

// Len returns the number of features.
func (x *Index) Len() int {
	return len(x.points)
}
