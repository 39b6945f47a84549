package server_test

import (
	"slices"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/grpcreflect/v2"
	"github.com/google/go-cmp/cmp"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/dataset"
)

// TestTutorialResults checks the results the gRPC tutorial shows, on its
// canonical 100-feature dataset.
func TestTutorialResults(t *testing.T) {
	t.Parallel()
	features := routeguidetest.CanonicalFeatures(t)
	if len(features) != 100 {
		t.Fatalf("canonical dataset has %d features, want 100", len(features))
	}
	c := newClient(t, features)

	got, err := c.GetFeature(t.Context(), pt(409146138, -746188906))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"; got.GetName() != want {
		t.Errorf("GetFeature(409146138, -746188906) = %q, want %q", got.GetName(), want)
	}

	var listed []*routeguide.Feature
	for f, err := range c.ListFeatures(t.Context(), rect(pt(400000000, -750000000), pt(420000000, -730000000))) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, f)
	}
	if diff := cmp.Diff(features, listed, protocmp.Transform()); diff != "" {
		t.Errorf("the tutorial rectangle should hold all 100 features in order (-want +got):\n%s", diff)
	}

	replies, err := chat(t, c, tutorialNotes())
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 9 {
		t.Errorf("the six tutorial notes gave %d replies, want 9: %q", len(replies), replies)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	for _, protocol := range []connecthttp.Option{connecthttp.WithGRPC(), connecthttp.WithGRPCWeb()} {
		client := routeguidetest.NewClient(ts.Client(), ts.URL, protocol)
		for _, service := range []string{"", routeguideconnect.RouteGuideName, notesv1connect.NotesServiceName} {
			status, err := routeguidetest.HealthCheck(t.Context(), client, service)
			if err != nil {
				t.Fatalf("health check of %q: %v", service, err)
			}
			if status != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health of %q = %v, want SERVING", service, status)
			}
		}
		_, err := routeguidetest.HealthCheck(t.Context(), client, "no.such.Service")
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("health of an unknown service = %v, want not_found", err)
		}
	}
}

func TestReflection(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	// Reflection is a bidi stream, so it needs HTTP/2.
	for _, protocol := range []connecthttp.Option{connecthttp.WithGRPC(), connecthttp.WithGRPCWeb()} {
		reflection := grpcreflect.NewClient(routeguidetest.NewClient(routeguidetest.H2CClient(), ts.URL, protocol))
		stream := reflection.NewStream(t.Context())
		names, err := stream.ListServices()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, name := range names {
			got = append(got, string(name))
		}
		slices.Sort(got)
		want := []string{
			"grpc.health.v1.Health",
			"grpc.reflection.v1.ServerReflection",
			"grpc.reflection.v1alpha.ServerReflection",
			"routeguide.RouteGuide",
			"routeguide.notes.v1.NotesService",
		}
		if !slices.Equal(got, want) {
			t.Errorf("reflection lists %q, want %q", got, want)
		}
		files, err := stream.FileContainingSymbol("routeguide.RouteGuide")
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 || files[0].GetPackage() != "routeguide" {
			t.Errorf("FileContainingSymbol(routeguide.RouteGuide) = %v, want the routeguide file", files)
		}
		if err := stream.Close(); err != nil {
			t.Error(err)
		}
	}
}
