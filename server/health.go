package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// healthService is the full name of gRPC's health checking service. Its
// messages are grpc-go's generated ones, the Go types of the protocol's own
// schema, so that JSON answers name statuses as the protocol and the
// schema reflection serves do ("SERVING"), and so that a program that also
// links grpc-go's health package does not register the schema twice.
const healthService = "grpc.health.v1.Health"

// health implements gRPC health checking: Check, Watch and List, over every
// protocol the server speaks. Statuses change with setStatus.
type health struct {
	mu       sync.Mutex // protects statuses and changed
	statuses map[string]healthpb.HealthCheckResponse_ServingStatus
	changed  chan struct{} // closed, and replaced, when a status changes

	// dynamic holds for some services whether what they need is up, such
	// as the notes store for NotesService; while it is not, they are
	// NOT_SERVING whatever setStatus said. Their watchers look again every
	// healthPoll. It never changes after newHealth.
	dynamic map[string]func() bool
}

// healthPoll is how often a Watch of a service with a dynamic status looks
// at it again.
const healthPoll = time.Second

// newHealth returns health checking that answers SERVING for the server as
// a whole ("") and for each of services, except that a service in dynamic
// is NOT_SERVING while its function reports false.
func newHealth(dynamic map[string]func() bool, services ...string) *health {
	h := &health{statuses: map[string]healthpb.HealthCheckResponse_ServingStatus{"": healthpb.HealthCheckResponse_SERVING},
		changed: make(chan struct{}), dynamic: dynamic}
	for _, s := range services {
		h.statuses[s] = healthpb.HealthCheckResponse_SERVING
	}
	return h
}

// setStatus sets the status of service, and tells its watchers.
func (h *health) setStatus(service string, status healthpb.HealthCheckResponse_ServingStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses[service] = status
	close(h.changed)
	h.changed = make(chan struct{})
}

// status returns the status of service, whether it is known, and a channel
// closed at the next change.
func (h *health) status(service string) (healthpb.HealthCheckResponse_ServingStatus, bool, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	status, ok := h.statuses[service]
	if up := h.dynamic[service]; ok && status == healthpb.HealthCheckResponse_SERVING && up != nil && !up() {
		status = healthpb.HealthCheckResponse_NOT_SERVING
	}
	return status, ok, h.changed
}

func (h *health) check(_ context.Context, req *connect.Request[healthpb.HealthCheckRequest]) (*connect.Response[healthpb.HealthCheckResponse], error) {
	status, ok, _ := h.status(req.Msg.GetService())
	if !ok {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Msg.GetService()))
	}
	return connect.NewResponse(&healthpb.HealthCheckResponse{Status: status}), nil
}

// watch sends the status of the service at once and at every change, and
// SERVICE_UNKNOWN for a service the server does not know. It runs until its
// client or the server ends it: at drain, the transport ends it with
// unavailable, as every stream.
func (h *health) watch(ctx context.Context, req *connect.Request[healthpb.HealthCheckRequest], stream *connect.ServerStream[healthpb.HealthCheckResponse]) error {
	sent := healthpb.HealthCheckResponse_ServingStatus(-1)
	var poll <-chan time.Time
	if h.dynamic[req.Msg.GetService()] != nil {
		ticker := time.NewTicker(healthPoll)
		defer ticker.Stop()
		poll = ticker.C
	}
	for {
		status, ok, changed := h.status(req.Msg.GetService())
		if !ok {
			status = healthpb.HealthCheckResponse_SERVICE_UNKNOWN
		}
		if status != sent {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: status}); err != nil {
				return err
			}
			sent = status
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-poll:
		}
	}
}

func (h *health) list(context.Context, *connect.Request[healthpb.HealthListRequest]) (*connect.Response[healthpb.HealthListResponse], error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	res := &healthpb.HealthListResponse{Statuses: make(map[string]*healthpb.HealthCheckResponse, len(h.statuses))}
	for service, status := range h.statuses {
		if up := h.dynamic[service]; status == healthpb.HealthCheckResponse_SERVING && up != nil && !up() {
			status = healthpb.HealthCheckResponse_NOT_SERVING
		}
		res.Statuses[service] = &healthpb.HealthCheckResponse{Status: status}
	}
	return connect.NewResponse(res), nil
}

// handler returns the path prefix of the health service and its handler.
func (h *health) handler(options connect.HandlerOption) (string, http.Handler, error) {
	methods := healthpb.File_grpc_health_v1_health_proto.Services().ByName(protoreflect.Name("Health")).Methods()
	method := func(name protoreflect.Name) (string, connect.HandlerOption, error) {
		m := methods.ByName(name)
		if m == nil {
			return "", nil, errors.New("grpc-go's health schema has no method " + string(name))
		}
		return "/" + healthService + "/" + string(name), connect.WithSchema(m), nil
	}
	mux := http.NewServeMux()
	checkPath, checkSchema, err := method("Check")
	if err != nil {
		return "", nil, err
	}
	watchPath, watchSchema, err := method("Watch")
	if err != nil {
		return "", nil, err
	}
	listPath, listSchema, err := method("List")
	if err != nil {
		return "", nil, err
	}
	// Check has no side effects, so probes may use a Connect GET.
	mux.Handle(checkPath, connect.NewUnaryHandler(checkPath, h.check, checkSchema, options,
		connect.WithIdempotency(connect.IdempotencyNoSideEffects)))
	mux.Handle(watchPath, connect.NewServerStreamHandler(watchPath, h.watch, watchSchema, options))
	mux.Handle(listPath, connect.NewUnaryHandler(listPath, h.list, listSchema, options,
		connect.WithIdempotency(connect.IdempotencyNoSideEffects)))
	return "/" + healthService + "/", mux, nil
}
