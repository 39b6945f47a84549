package main

import (
	"context"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/synthetic"
)

// headline runs the side-by-side workloads of the issue over 100 features.
func (b *bench) headline(ctx context.Context, r *report) error {
	const n = 100
	procs, err := b.servers(ctx, n, true)
	if err != nil {
		return err
	}
	defer stopAll(procs)
	ceiling, ceilingBatched, reference, ours := procs[0], procs[1], procs[2], procs[3]
	features := synthetic.Features(n, 1)
	hit := features[n/2].GetLocation()
	d := b.o.duration
	if err := checkServer(ctx, ours, features); err != nil {
		return err
	}
	if err := checkServer(ctx, reference, features); err != nil {
		return err
	}

	get := func(protocol string) h2loadLoad {
		l := protocolLoad(protocol, routeguideconnect.RouteGuideGetFeatureProcedure, hit, true)
		l.conns, l.streams, l.perResponse = 1, 64, 1
		return l
	}
	list := func(protocol string) h2loadLoad {
		l := protocolLoad(protocol, routeguideconnect.RouteGuideListFeaturesProcedure, synthetic.Region, false)
		l.conns, l.streams, l.perResponse = 1, 16, n
		return l
	}
	h2 := func(p *process, l h2loadLoad) func() (float64, sample, error) {
		return func() (float64, sample, error) { return runH2load(ctx, b.work, p.url(), l, d) }
	}
	type step struct {
		table, name string
		p           *process
		load        func() (float64, sample, error)
	}
	route := make([]*routeguide.Point, 1000)
	for i := range route {
		route[i] = features[(i*7)%n].GetLocation()
	}
	steps := []step{
		{tGetH2, "ceiling (net/http, prebuilt)", ceiling, h2(ceiling, get("grpc"))},
		{tGetH2, "ceiling, batched writes", ceilingBatched, h2(ceilingBatched, get("grpc"))},
		{tGetH2, "grpc-go reference", reference, h2(reference, get("grpc"))},
		{tGetH2, "routeguide gRPC", ours, h2(ours, get("grpc"))},
		{tGetH2, "routeguide gRPC-Web", ours, h2(ours, get("grpcweb"))},
		{tGetH2, "routeguide Connect", ours, h2(ours, get("connect"))},
		// ghz's client is the bound here (BENCHMARKS.md), so the ceiling
		// server under ghz is what a net/http server can get from it.
		{tGetGhz, "ceiling (net/http, prebuilt)", ceiling, func() (float64, sample, error) {
			return runGhz(ctx, b.bins.path("ghz"), b.o.protoDir, ceiling.addr, hit, 64, d)
		}},
		{tGetGhz, "grpc-go reference", reference, func() (float64, sample, error) {
			return runGhz(ctx, b.bins.path("ghz"), b.o.protoDir, reference.addr, hit, 64, d)
		}},
		{tGetGhz, "routeguide", ours, func() (float64, sample, error) {
			return runGhz(ctx, b.bins.path("ghz"), b.o.protoDir, ours.addr, hit, 64, d)
		}},
		{tList, "ceiling (net/http, prebuilt, no flush)", ceiling, h2(ceiling, list("grpc"))},
		{tList, "ceiling, batched writes", ceilingBatched, h2(ceilingBatched, list("grpc"))},
		{tList, "grpc-go reference", reference, h2(reference, list("grpc"))},
		{tList, "routeguide gRPC", ours, h2(ours, list("grpc"))},
		{tList, "routeguide gRPC-Web", ours, h2(ours, list("grpcweb"))},
		{tList, "routeguide Connect", ours, h2(ours, list("connect"))},
		{tRecord, "grpc-go reference", reference, func() (float64, sample, error) {
			return runRecordRoute(ctx, reference.url(), route, 16, d)
		}},
		{tRecord, "routeguide", ours, func() (float64, sample, error) { return runRecordRoute(ctx, ours.url(), route, 16, d) }},
		{tChat, "grpc-go reference", reference, func() (float64, sample, error) { return runRouteChat(ctx, reference.url(), 16, d) }},
		{tChat, "routeguide", ours, func() (float64, sample, error) { return runRouteChat(ctx, ours.url(), 16, d) }},
		{tPing, "grpc-go reference", reference, func() (float64, sample, error) { return runPingPong(ctx, reference.url(), 2000) }},
		{tPing, "routeguide", ours, func() (float64, sample, error) { return runPingPong(ctx, ours.url(), 2000) }},
	}
	for _, s := range steps {
		if err := b.repeat(r, s.table, s.name, s.p, s.load); err != nil {
			return err
		}
	}
	return nil
}
