package server

import (
	"context"
	"errors"
	"maps"
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
// protocol the server speaks. Every service it knows is SERVING until the
// server drains, and NOT_SERVING from then on.
type health struct {
	// up holds every service known, "" being the server as a whole, and
	// for some whether what they need is up, such as the notes store for
	// NotesService; while it is not, they are NOT_SERVING. Their watchers
	// look again every healthPoll. It never changes after newHealth.
	up      map[string]func() bool
	drained chan struct{} // closed by drain
	drain   func()
}

// healthPoll is how often a Watch of a service with a dynamic status looks
// at it again.
const healthPoll = time.Second

// newHealth returns health checking that knows the server as a whole ("")
// and each of services, which is up while its function, if any, reports
// true.
func newHealth(services map[string]func() bool) *health {
	h := &health{up: map[string]func() bool{"": nil}, drained: make(chan struct{})}
	maps.Copy(h.up, services)
	h.drain = sync.OnceFunc(func() { close(h.drained) })
	return h
}

// status returns the status of service, and whether it is known.
func (h *health) status(service string) (healthpb.HealthCheckResponse_ServingStatus, bool) {
	up, ok := h.up[service]
	select {
	case <-h.drained:
		return healthpb.HealthCheckResponse_NOT_SERVING, ok
	default:
	}
	if up != nil && !up() {
		return healthpb.HealthCheckResponse_NOT_SERVING, ok
	}
	return healthpb.HealthCheckResponse_SERVING, ok
}

func (h *health) check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	status, ok := h.status(req.GetService())
	if !ok {
		return nil, connect.Errorf(connect.CodeNotFound, "unknown service %q", req.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: status}, nil
}

// watch sends the status of the service at once and at every change, and
// SERVICE_UNKNOWN for a service the server does not know. It runs until its
// client or the server ends it: at drain, the transport ends it with
// unavailable, as every stream.
func (h *health) watch(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
	var req healthpb.HealthCheckRequest
	if err := stream.Receive(&req); err != nil {
		return err
	}
	sent := healthpb.HealthCheckResponse_ServingStatus(-1)
	var poll <-chan time.Time
	if h.up[req.GetService()] != nil {
		ticker := time.NewTicker(healthPoll)
		defer ticker.Stop()
		poll = ticker.C
	}
	drained := h.drained
	for {
		status, ok := h.status(req.GetService())
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
		case <-drained:
			drained = nil // once is news
		case <-poll:
		}
	}
}

func (h *health) list(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	res := &healthpb.HealthListResponse{Statuses: make(map[string]*healthpb.HealthCheckResponse, len(h.up))}
	for service := range h.up {
		status, _ := h.status(service)
		res.Statuses[service] = &healthpb.HealthCheckResponse{Status: status}
	}
	return res, nil
}

// register registers the health service on server.
func (h *health) register(server *connect.Server) error {
	methods := healthpb.File_grpc_health_v1_health_proto.Services().ByName("Health").Methods()
	for _, m := range []struct {
		name        protoreflect.Name
		streamType  connect.StreamType
		idempotency connect.IdempotencyLevel
		handler     connect.ServerFunc
	}{
		// Check and List have no side effects, so probes may use a Connect GET.
		{"Check", connect.StreamTypeUnary, connect.IdempotencyNoSideEffects, unary(h.check)},
		{"Watch", connect.StreamTypeServer, connect.IdempotencyUnknown, h.watch},
		{"List", connect.StreamTypeUnary, connect.IdempotencyNoSideEffects, unary(h.list)},
	} {
		schema := methods.ByName(m.name)
		if schema == nil {
			return errors.New("grpc-go's health schema has no method " + string(m.name))
		}
		server.Register(connect.Method{Handler: m.handler, Spec: connect.Spec{Procedure: "/" + healthService + "/" + string(m.name),
			StreamType: m.streamType, Schema: schema, IdempotencyLevel: m.idempotency}})
	}
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
