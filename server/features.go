package server

import (
	"iter"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// featureIndex holds a dataset in its original order and finds the feature
// at a point without a scan.
type featureIndex struct {
	features []*routeguide.Feature
	// byPoint maps each location to the first feature there, so a dataset
	// with duplicates answers GetFeature the way a scan in order would.
	byPoint map[point]*routeguide.Feature
}

func newFeatureIndex(features []*routeguide.Feature) *featureIndex {
	byPoint := make(map[point]*routeguide.Feature, len(features))
	for _, f := range features {
		key := pointOf(f.GetLocation())
		if _, seen := byPoint[key]; !seen {
			byPoint[key] = f
		}
	}
	return &featureIndex{features: features, byPoint: byPoint}
}

// at returns the feature at p, if there is one.
func (x *featureIndex) at(p point) (*routeguide.Feature, bool) {
	f, ok := x.byPoint[p]
	return f, ok
}

// within yields the features inside b in dataset order, as it finds them.
func (x *featureIndex) within(b bounds) iter.Seq[*routeguide.Feature] {
	return func(yield func(*routeguide.Feature) bool) {
		for _, f := range x.features {
			if b.contains(pointOf(f.GetLocation())) && !yield(f) {
				return
			}
		}
	}
}

func (x *featureIndex) len() int {
	return len(x.features)
}
