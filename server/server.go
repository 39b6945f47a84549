// Package server implements the RouteGuide service of the gRPC tutorial as
// one [http.Handler] that speaks gRPC, gRPC-Web (binary and text) and the
// Connect protocol, together with gRPC health checking, server reflection
// and a browser page.
//
// It wires together the packages beside it: the feature index, the notes
// store, the transport's protections, observability and the browser page.
package server

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/server/browser"
	"github.com/routeguide/routeguide/server/features"
	"github.com/routeguide/routeguide/server/geo"
	"github.com/routeguide/routeguide/server/grpcwebtext"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/observe"
	"github.com/routeguide/routeguide/server/transport"
)

// services are the services a Server implements, by the full names of
// their descriptors, which their generated code registers. Reflection lists
// them, and the transport's table of procedures is derived from them.
var services = []protoreflect.FullName{
	routeguideconnect.RouteGuideName,
	notesv1connect.NotesServiceName,
	healthService,
}

// standardProcedures are those of server reflection, whose descriptors
// grpcreflect keeps to itself; their shapes are fixed by the gRPC protocol
// that defines them.
var standardProcedures = transport.Procedures{
	"/" + grpcreflect.ReflectV1ServiceName + "/ServerReflectionInfo":      connect.StreamTypeBidi,
	"/" + grpcreflect.ReflectV1AlphaServiceName + "/ServerReflectionInfo": connect.StreamTypeBidi,
}

// procedures returns the table of every procedure a Server mounts.
func procedures() (transport.Procedures, error) {
	table, err := transport.ProceduresOf(services...)
	if err != nil {
		return nil, err
	}
	maps.Copy(table, standardProcedures)
	return table, nil
}

// Server serves RouteGuide, health checking, reflection and the browser
// page. Create one with [New]; it is safe for concurrent use.
type Server struct {
	handler   http.Handler
	features  int
	health    *health
	transport *transport.Stack
}

// New returns a Server over features, copied into an index of its own.
// Every feature must have a location within the valid range of latitude and
// longitude, and the limits, if given, must agree with each other.
func New(features []*routeguide.Feature, options ...Option) (*Server, error) {
	var cfg config
	for _, o := range options {
		o.apply(&cfg)
	}
	if err := cfg.limits.Validate(); err != nil {
		return nil, err
	}
	limits := cfg.limits.withDefaults()
	index, err := indexFeatures(features)
	if err != nil {
		return nil, err
	}
	notesLimits := limits.notes()
	store := cfg.notes
	if store == nil {
		store = notes.NewMemory(notesLimits)
	}
	metrics, err := observe.NewMetrics(cfg.observe.meterProvider,
		observe.State{Features: index.Len(), Notes: store.Stats, NotesUp: func() bool { return store.Available() == nil }})
	if err != nil {
		return nil, fmt.Errorf("service metrics: %w", err)
	}
	service := &routeGuide{
		features:       index,
		notes:          store,
		metrics:        metrics,
		logger:         cfg.observe.logger,
		maxRoutePoints: limits.MaxRoutePoints,
		maxNoteBytes:   limits.MaxNoteBytes,
		watchBuffer:    notesLimits.WatchBuffer,
	}
	if service.logger == nil {
		service.logger = slog.New(slog.DiscardHandler)
	}
	procedures, err := procedures()
	if err != nil {
		return nil, err
	}
	stack := transport.New(procedures, limits.transport())
	interceptors, err := cfg.observe.interceptors(metrics)
	if err != nil {
		return nil, err
	}
	// Calls that connect-go or the transport refuse before the
	// interceptors see them are replayed through them.
	calls := observe.NewCalls(procedures.Lookup, interceptors...)
	handlerOptions := connect.WithHandlerOptions(slices.Concat(
		[]connect.HandlerOption{
			MessageOptions(limits),
			// Telemetry outermost, so that it sees the codes the
			// transport gives drained, idle and late calls; before it
			// only the mark that keeps calls from being replayed.
			connect.WithInterceptors(slices.Concat(
				[]connect.Interceptor{calls.Interceptor()}, interceptors,
				[]connect.Interceptor{stack.Interceptor()})...),
			// Innermost, so that every interceptor sees the internal error a
			// panic turns into.
			connect.WithRecover(observe.RecoverPanic(cfg.observe.logger)),
		},
		cfg.handlerOptions)...)

	// NotesService is NOT_SERVING while the notes store cannot be reached,
	// whatever its status otherwise.
	health := newHealth(map[string]func() bool{
		notesv1connect.NotesServiceName: func() bool { return store.Available() == nil },
	}, routeguideconnect.RouteGuideName, notesv1connect.NotesServiceName)
	mux, _, err := newMux(service, health, handlerOptions)
	if err != nil {
		return nil, err
	}
	handler := calls.Handler(stack.Handler(mux, connect.NewErrorWriter(handlerOptions)))
	// gRPC-Web's text form, which connect-go does not speak, becomes its
	// binary form before any other layer sees the call.
	handler = grpcwebtext.Handler(handler)
	// CORS outermost, so that preflights are answered before anything else.
	if handler, err = browser.CORS(handler, cfg.corsOrigins); err != nil {
		return nil, err
	}
	// Above everything, so that the stack grows while it is shallow.
	handler = transport.PresizeStacks(handler, procedures)
	return &Server{
		handler:   handler,
		features:  len(features),
		health:    health,
		transport: stack,
	}, nil
}

func indexFeatures(fs []*routeguide.Feature) (*features.Index, error) {
	for i, f := range fs {
		if err := geo.CheckPoint("location", f.GetLocation()); err != nil {
			return nil, fmt.Errorf("feature %d (%q): %w", i, f.GetName(), err)
		}
	}
	return features.New(fs)
}

// newMux mounts the services and the browser page, and returns the path
// prefix of each service it mounted.
func newMux(service *routeGuide, health *health, options connect.HandlerOption) (*http.ServeMux, []string, error) {
	var names []string
	for _, s := range services {
		names = append(names, string(s))
	}
	reflector := grpcreflect.NewStaticReflector(append(names,
		grpcreflect.ReflectV1ServiceName,
		grpcreflect.ReflectV1AlphaServiceName)...)
	mux := http.NewServeMux()
	var mounted []string
	mount := func(prefix string, h http.Handler) {
		mux.Handle(prefix, h)
		mounted = append(mounted, prefix)
	}
	mount(routeguideconnect.NewRouteGuideHandler(service, options))
	mount(notesv1connect.NewNotesServiceHandler(&notesService{guide: service}, options))
	healthPrefix, healthHandler, err := health.handler(options)
	if err != nil {
		return nil, nil, err
	}
	mount(healthPrefix, healthHandler)
	mount(grpcreflect.NewHandlerV1(reflector, options))
	mount(grpcreflect.NewHandlerV1Alpha(reflector, options))
	page, err := browser.Page()
	if err != nil {
		return nil, nil, err
	}
	mux.Handle("/", page)
	return mux, mounted, nil
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// FeatureCount returns the number of features the server answers from.
func (s *Server) FeatureCount() int {
	return s.features
}

// Drain prepares the server to stop: health checks answer NOT_SERVING, new
// streams are refused and open streams end at once, both with unavailable,
// so that their clients can go elsewhere. Unary calls are still served. Call
// it before [http.Server.Shutdown], which then stops accepting connections
// and waits only for the calls in progress.
func (s *Server) Drain() {
	s.health.setStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.health.setStatus(routeguideconnect.RouteGuideName, healthpb.HealthCheckResponse_NOT_SERVING)
	s.health.setStatus(notesv1connect.NotesServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	s.transport.Drain()
}
