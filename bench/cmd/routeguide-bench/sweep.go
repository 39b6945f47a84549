package main

import (
	"context"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/synthetic"
)

// sweep measures GetFeature, ListFeatures of a ~100-feature rectangle and
// RecordRoute as the dataset grows.
func (b *bench) sweep(ctx context.Context, r *report) error {
	for _, n := range b.o.sizes {
		procs, err := b.servers(ctx, n, false)
		if err != nil {
			return err
		}
		features := synthetic.Features(n, 1)
		hit := features[n/2].GetLocation()
		rect := synthetic.Rectangle(n, 100)
		for _, p := range procs {
			get := protocolLoad("grpc", routeguideconnect.RouteGuideGetFeatureProcedure, hit, true)
			get.conns, get.streams, get.perResponse = 1, 64, 1
			list := protocolLoad("grpc", routeguideconnect.RouteGuideListFeaturesProcedure, rect, false)
			list.conns, list.streams, list.perResponse = 1, 16, 1
			// The reference scans every feature for every point, so its
			// routes are shortened to keep a call under a second or so;
			// the figure is per point either way.
			points := 1000
			if p.name == "reference" {
				points = max(1, min(1000, 10_000_000/n))
			}
			route := make([]*routeguide.Point, points)
			for i := range route {
				route[i] = features[(i*7919)%n].GetLocation()
			}
			for _, w := range []struct {
				workload string
				load     func() (float64, sample, error)
			}{
				{wGet, func() (float64, sample, error) { return runH2load(ctx, b.work, p.url(), get, b.o.duration) }},
				{wList, func() (float64, sample, error) { return runH2load(ctx, b.work, p.url(), list, b.o.duration) }},
				{wRecord, func() (float64, sample, error) { return runRecordRoute(ctx, p.url(), route, 8, b.o.duration) }},
			} {
				if err := b.repeat(r, sweepTable(w.workload, n), p.name, p, w.load); err != nil {
					stopAll(procs)
					return err
				}
			}
		}
		stopAll(procs)
	}
	return nil
}
