package main

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/synthetic"
)

// checkServer makes sure the server answers correctly before it is timed:
// h2load only sees HTTP status codes.
func checkServer(ctx context.Context, p *process, features []*routeguide.Feature) error {
	// The reference speaks only gRPC; ours is checked in every protocol.
	return verify(ctx, p.url(), features, p.name == "routeguide")
}

// verify checks that the server at url answers as a RouteGuide server over
// features should, in every protocol it is timed in.
func verify(ctx context.Context, url string, features []*routeguide.Feature, allProtocols bool) error {
	protocols := []client.Protocol{client.ProtocolGRPC}
	if allProtocols {
		protocols = append(protocols, client.ProtocolGRPCWeb, client.ProtocolConnect)
	}
	for _, protocol := range protocols {
		c, err := client.New(url, client.WithProtocol(protocol))
		if err != nil {
			return err
		}
		want := features[len(features)/2]
		got, err := c.GetFeature(ctx, want.GetLocation())
		if err != nil {
			return fmt.Errorf("check %s over %v: GetFeature: %w", url, protocol, err)
		}
		if !proto.Equal(got, want) {
			return fmt.Errorf("check %s over %v: GetFeature gave %v, want %v", url, protocol, got, want)
		}
		count := 0
		for _, err := range c.ListFeatures(ctx, synthetic.Region) {
			if err != nil {
				return fmt.Errorf("check %s over %v: ListFeatures: %w", url, protocol, err)
			}
			count++
		}
		if count != len(features) {
			return fmt.Errorf("check %s over %v: ListFeatures gave %d features, want %d", url, protocol, count, len(features))
		}
	}
	return nil
}
