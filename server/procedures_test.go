package server

import (
	"testing"

	"connectrpc.com/connect/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/server/browser"
	"github.com/routeguide/routeguide/server/features"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/transport"
)

// The transport's table of procedures is what the services register, so
// that a new method is never served without its protections, or with the
// wrong ones.
func TestEveryRegisteredProcedureIsClassified(t *testing.T) {
	t.Parallel()
	index, err := features.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	service := &routeGuide{features: index, notes: notes.NewMemory(DefaultLimits().notes())}
	rpc := connect.NewServer()
	if _, err := newMux(rpc, service, newHealth(nil), nil, browser.SignIn{}); err != nil {
		t.Fatal(err)
	}
	want := transport.Procedures{
		"/routeguide.RouteGuide/GetFeature":                              connect.StreamTypeUnary,
		"/routeguide.RouteGuide/ListFeatures":                            connect.StreamTypeServer,
		"/routeguide.RouteGuide/RecordRoute":                             connect.StreamTypeClient,
		"/routeguide.RouteGuide/RouteChat":                               connect.StreamTypeBidi,
		"/routeguide.notes.v1.NotesService/PostNote":                     connect.StreamTypeUnary,
		"/routeguide.notes.v1.NotesService/DeleteNote":                   connect.StreamTypeUnary,
		"/routeguide.notes.v1.NotesService/WatchNotes":                   connect.StreamTypeServer,
		"/grpc.health.v1.Health/Check":                                   connect.StreamTypeUnary,
		"/grpc.health.v1.Health/Watch":                                   connect.StreamTypeServer,
		"/grpc.health.v1.Health/List":                                    connect.StreamTypeUnary,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      connect.StreamTypeBidi,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": connect.StreamTypeBidi,
	}
	if diff := cmp.Diff(want, transport.ProceduresOf(rpc)); diff != "" {
		t.Errorf("procedures (-want +got):\n%s", diff)
	}
}
