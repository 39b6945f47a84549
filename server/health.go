package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"connectrpc.com/connect/v2"
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

func (h *health) check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	status, ok, _ := h.status(req.GetService())
	if !ok {
		return nil, connect.Errorf(connect.CodeNotFound, "unknown service %q", req.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: status}, nil
}

// watch sends the status of the service at once and at every change, and
// SERVICE_UNKNOWN for a service the server does not know. It runs until its
// client or the server ends it: at drain, the transport ends it with
// unavailable, as every stream.
func (h *health) watch(ctx context.Context, req *healthpb.HealthCheckRequest, stream connect.ServerStream) error {
	sent := healthpb.HealthCheckResponse_ServingStatus(-1)
	var poll <-chan time.Time
	if h.dynamic[req.GetService()] != nil {
		ticker := time.NewTicker(healthPoll)
		defer ticker.Stop()
		poll = ticker.C
	}
	for {
		status, ok, changed := h.status(req.GetService())
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

func (h *health) list(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	res := &healthpb.HealthListResponse{Statuses: make(map[string]*healthpb.HealthCheckResponse, len(h.statuses))}
	for service, status := range h.statuses {
		if up := h.dynamic[service]; status == healthpb.HealthCheckResponse_SERVING && up != nil && !up() {
			status = healthpb.HealthCheckResponse_NOT_SERVING
		}
		res.Statuses[service] = &healthpb.HealthCheckResponse{Status: status}
	}
	return res, nil
}

// register registers the health service on server.
func (h *health) register(server *connect.Server) error {
	methods := healthpb.File_grpc_health_v1_health_proto.Services().ByName(protoreflect.Name("Health")).Methods()
	spec := func(name protoreflect.Name, streamType connect.StreamType, idempotency connect.IdempotencyLevel) (connect.Spec, error) {
		m := methods.ByName(name)
		if m == nil {
			return connect.Spec{}, errors.New("grpc-go's health schema has no method " + string(name))
		}
		return connect.Spec{Procedure: "/" + healthService + "/" + string(name), StreamType: streamType,
			Schema: m, IdempotencyLevel: idempotency}, nil
	}
	// Check and List have no side effects, so probes may use a Connect GET.
	check, err := spec("Check", connect.StreamTypeUnary, connect.IdempotencyNoSideEffects)
	if err != nil {
		return err
	}
	watch, err := spec("Watch", connect.StreamTypeServer, connect.IdempotencyUnknown)
	if err != nil {
		return err
	}
	list, err := spec("List", connect.StreamTypeUnary, connect.IdempotencyNoSideEffects)
	if err != nil {
		return err
	}
	server.Register(
		connect.Method{Spec: check, Handler: unary(h.check)},
		connect.Method{Spec: watch, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
			var req healthpb.HealthCheckRequest
			if err := stream.Receive(&req); err != nil {
				return err
			}
			return h.watch(ctx, &req, stream)
		}},
		connect.Method{Spec: list, Handler: unary(h.list)},
	)
	return nil
}

// unary serves a unary method through fn, as generated code does.
func unary[Req, Res any](fn func(context.Context, *Req) (*Res, error)) connect.ServerFunc {
	return func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
		var req Req
		if err := stream.Receive(&req); err != nil {
			return err
		}
		res, err := fn(ctx, &req)
		if err != nil {
			return err
		}
		return stream.Send(res)
	}
}
