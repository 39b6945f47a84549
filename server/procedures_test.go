package server

import (
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/routeguide/routeguide/server/features"
	"github.com/routeguide/routeguide/server/notes"
)

// Every service the mux mounts must have its procedures in the table that
// the transport's rules read, or a new method would be served without its
// protections, or with the wrong ones.
func TestEveryMountedServiceIsClassified(t *testing.T) {
	t.Parallel()
	table, err := procedures()
	if err != nil {
		t.Fatal(err)
	}
	index, err := features.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	service := &routeGuide{features: index, notes: notes.NewMemory(DefaultLimits().notes())}
	_, mounted, err := newMux(service, newHealth(nil), connect.WithHandlerOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range mounted {
		found := false
		for path := range table {
			found = found || strings.HasPrefix(path, prefix)
		}
		if !found {
			t.Errorf("%s is mounted, but none of its procedures is in the table: add it to services", prefix)
		}
	}
	want := map[string]connect.StreamType{
		"/routeguide.RouteGuide/GetFeature":                              connect.StreamTypeUnary,
		"/routeguide.RouteGuide/ListFeatures":                            connect.StreamTypeServer,
		"/routeguide.RouteGuide/RecordRoute":                             connect.StreamTypeClient,
		"/routeguide.RouteGuide/RouteChat":                               connect.StreamTypeBidi,
		"/grpc.health.v1.Health/Check":                                   connect.StreamTypeUnary,
		"/grpc.health.v1.Health/Watch":                                   connect.StreamTypeServer,
		"/grpc.health.v1.Health/List":                                    connect.StreamTypeUnary,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      connect.StreamTypeBidi,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": connect.StreamTypeBidi,
	}
	for path, streamType := range want {
		if got, ok := table[path]; !ok || got != streamType {
			t.Errorf("table[%s] = %v (present: %v), want %v", path, got, ok, streamType)
		}
	}
}
