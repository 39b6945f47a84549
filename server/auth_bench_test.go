package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect/v2/connecthttp"
	"github.com/nats-io/nats.go"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/internal/synthetic"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/budget"
)

// BenchmarkAuthCost times whole calls over loopback (client included, gRPC,
// one call at a time) with identity and the write budget off and on, so
// that the ratio between two sub-benchmarks of one call is what identity
// or the budget adds to it: reads without a token, which should do no auth
// work; reads and PostNote with a token (one ES256 verification, the keys
// cached); PostNote charged to a local budget and to one shared through
// JetStream KV (one NATS node in the process). BENCHMARKS.md quotes the
// ratios.
func BenchmarkAuthCost(b *testing.B) {
	features := synthetic.Features(100, 1)
	iss := newTestIssuer(b)
	token := iss.token(b, "ada", "Ada Lovelace")
	unlimited := budget.Policy{Rate: 1 << 30, Burst: 1 << 30}
	shared := func(b *testing.B) server.WriteBudget {
		nc, err := nats.Connect(natstest.Start(b).URL())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
		s, err := budget.OpenShared(b.Context(), nc, budget.SharedConfig{Policy: unlimited})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	for _, mode := range []struct {
		name   string
		writes bool // whether the mode is about writes alone
		// options returns the server's options.
		options func(b *testing.B) []server.Option
		token   string
	}{
		{"identity=off,budget=none", false, func(*testing.B) []server.Option {
			return []server.Option{server.WithWriteBudget(nil)}
		}, ""},
		{"identity=on,token=none", false, func(b *testing.B) []server.Option {
			return []server.Option{server.WithWriteBudget(nil), iss.identityOption(b, server.WritesAnyone)}
		}, ""},
		{"identity=on,token=valid", false, func(b *testing.B) []server.Option {
			return []server.Option{server.WithWriteBudget(nil), iss.identityOption(b, server.WritesAnyone)}
		}, token},
		{"identity=off,budget=local", true, func(*testing.B) []server.Option {
			return []server.Option{server.WithWriteBudget(budget.NewLocal(budget.LocalConfig{Policy: unlimited}))}
		}, ""},
		{"identity=off,budget=shared", true, func(b *testing.B) []server.Option {
			return []server.Option{server.WithWriteBudget(shared(b))}
		}, ""},
	} {
		url := routeguidetest.NewRouteGuide(b, features, mode.options(b)...).URL
		options := []client.Option{client.WithProtocol(client.ProtocolGRPC)}
		if mode.token != "" {
			options = append(options, client.WithToken(mode.token))
		}
		guide, err := client.New(url, options...)
		if err != nil {
			b.Fatal(err)
		}
		notes := notesClient(url, mode.token, connecthttp.WithGRPC())
		hit := features[50].GetLocation()
		if !mode.writes {
			b.Run("GetFeature/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := guide.GetFeature(b.Context(), hit); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ListFeatures/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					n := 0
					for _, err := range guide.ListFeatures(b.Context(), synthetic.Region) {
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
					if n != len(features) {
						b.Fatalf("got %d features, want %d", n, len(features))
					}
				}
			})
		}
		b.Run("PostNote/"+mode.name, func(b *testing.B) {
			b.ReportAllocs()
			i := int32(0)
			for b.Loop() {
				i++
				// A new location each time, so the answer is the note alone.
				_, err := notes.PostNote(context.Background(), &notesv1.PostNoteRequest{
					Note: &routeguide.RouteNote{Location: pt(i%1_000_000, 3), Message: "a note"}})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
