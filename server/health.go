package server

import (
	"context"

	"connectrpc.com/grpchealth"

	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/server/notes"
)

// healthChecker answers health checks as its static checker does, except
// that NotesService is NOT_SERVING while the notes store cannot be reached:
// a balancer that routes notes by it sends them to replicas that can store
// them, while the other methods, which need no store, stay SERVING.
type healthChecker struct {
	static *grpchealth.StaticChecker
	store  notes.Store
}

func (h *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	res, err := h.static.Check(ctx, req)
	if err != nil || req.Service != notesv1connect.NotesServiceName || res.Status != grpchealth.StatusServing {
		return res, err
	}
	if h.store.Available() != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return res, nil
}
