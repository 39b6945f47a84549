package server_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/internal/synthetic"
)

// The benchmarks here time whole calls over loopback, client included, for
// pprof and -benchmem; bench/ has the harness that separates the server's
// cost from the client's.

func BenchmarkGetFeature(b *testing.B) {
	features := synthetic.Features(100, 1)
	srv := routeguidetest.NewRouteGuide(b, features)
	for _, tr := range transports[:3] {
		c := newTransportClient(b, srv.URL, tr.protocol, false)
		b.Run(tr.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.GetFeature(context.Background(), features[50].GetLocation()); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkListFeatures(b *testing.B) {
	features := synthetic.Features(100, 1)
	srv := routeguidetest.NewRouteGuide(b, features)
	for _, tr := range transports[:3] {
		c := newTransportClient(b, srv.URL, tr.protocol, false)
		b.Run(tr.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, err := range c.ListFeatures(b.Context(), synthetic.Region) {
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != len(features) {
					b.Fatalf("got %d features, want %d", n, len(features))
				}
			}
			b.ReportMetric(float64(b.N*len(features))/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// BenchmarkRouteChat sends notes at fresh locations, each answered by one
// reply, while reading replies on another goroutine.
func BenchmarkRouteChat(b *testing.B) {
	srv := routeguidetest.NewRouteGuide(b, nil)
	c := newTransportClient(b, srv.URL, client.ProtocolGRPC, false)
	b.ReportAllocs()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	chat := c.RouteChat(ctx)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := chat.Receive(); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				done <- err
				return
			}
		}
	}()
	i := int32(0)
	for b.Loop() {
		i++
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: i, Longitude: -i}, Message: "bench"}
		if err := chat.Send(note); err != nil {
			b.Fatal(err)
		}
	}
	chat.CloseSend()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
