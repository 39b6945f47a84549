package server

import (
	"testing"

	"connectrpc.com/connect/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/routeguide/routeguide/server/features"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/transport"
)

// The transport's table of procedures is what the services register, so
// that a new method is never served without its protections, or with the
// wrong ones; the writes are marked as such.
func TestEveryRegisteredProcedureIsClassified(t *testing.T) {
	t.Parallel()
	index, err := features.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	service := &routeGuide{features: index, notes: notes.NewMemory(limits.Limits{})}
	rpc := connect.NewServer()
	if err := register(rpc, service, newHealth(nil), nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]transport.Procedure{
		"/routeguide.RouteGuide/GetFeature":                              {StreamType: connect.StreamTypeUnary},
		"/routeguide.RouteGuide/ListFeatures":                            {StreamType: connect.StreamTypeServer},
		"/routeguide.RouteGuide/RecordRoute":                             {StreamType: connect.StreamTypeClient},
		"/routeguide.RouteGuide/RouteChat":                               {StreamType: connect.StreamTypeBidi, Writes: true},
		"/routeguide.notes.v1.NotesService/PostNote":                     {StreamType: connect.StreamTypeUnary, Writes: true},
		"/routeguide.notes.v1.NotesService/DeleteNote":                   {StreamType: connect.StreamTypeUnary, Writes: true},
		"/routeguide.notes.v1.NotesService/WatchNotes":                   {StreamType: connect.StreamTypeServer},
		"/grpc.health.v1.Health/Check":                                   {StreamType: connect.StreamTypeUnary},
		"/grpc.health.v1.Health/Watch":                                   {StreamType: connect.StreamTypeServer},
		"/grpc.health.v1.Health/List":                                    {StreamType: connect.StreamTypeUnary},
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      {StreamType: connect.StreamTypeBidi},
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": {StreamType: connect.StreamTypeBidi},
	}
	got := make(map[string]transport.Procedure)
	for path, p := range transport.ProceduresOf(rpc, isWrite) {
		got[path] = transport.Procedure{StreamType: p.StreamType, Writes: p.Writes}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(transport.Procedure{})); diff != "" {
		t.Errorf("procedures (-want +got):\n%s", diff)
	}
}
