package server

import (
	"context"
	"sync"
	"time"

	"connectrpc.com/grpchealth"

	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/server/notes"
)

var _ grpchealth.Watcher = (*healthChecker)(nil)

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

// healthPoll is how often a Watch of NotesService looks at the notes store.
const healthPoll = time.Second

// Watch implements [grpchealth.Watcher], so that the health service's
// streaming Watch works as with the static checker alone. A watch of
// NotesService also hears, within healthPoll, when the store goes out of
// reach or comes back.
func (h *healthChecker) Watch(ctx context.Context, req *grpchealth.CheckRequest, onChange func()) (func(), error) {
	stopStatic, err := h.static.Watch(ctx, req, onChange)
	if err != nil || req.Service != notesv1connect.NotesServiceName {
		return stopStatic, err
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ticker := time.NewTicker(healthPoll)
		defer ticker.Stop()
		up := h.store.Available() == nil
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				if now := h.store.Available() == nil; now != up {
					up = now
					onChange()
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			stopStatic()
			close(done)
			<-stopped
		})
	}, nil
}
