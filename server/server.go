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
	"net/http"
	"slices"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/grpcreflect/v2"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

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
		observe.State{Features: index.Len(), Notes: notesStats(store), NotesUp: func() bool { return store.Available() == nil }})
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
		watchStall:     limits.WatchStall,
		budget:         cfg.writeBudget(),
		watches:        notes.NewAdmission(limits.admission()),
	}
	if service.logger == nil {
		service.logger = slog.New(slog.DiscardHandler)
	}
	stack := transport.New(limits.transport())
	if cfg.noFastPaths {
		stack.WithoutFastPaths()
	}
	interceptors, err := cfg.observe.interceptors(metrics)
	if err != nil {
		return nil, err
	}
	rpc := connect.NewServer(slices.Concat(
		// Telemetry outermost, so that it sees the codes the transport
		// gives drained, idle and late calls.
		interceptors,
		[]connect.ServerInterceptor{stack.Interceptor()},
		// Inside the others, so that every one of them sees the internal
		// error a panic turns into; outside the caller's own, so that a
		// panic in those is recovered too.
		[]connect.ServerInterceptor{observe.RecoverPanic(cfg.observe.logger)},
		cfg.interceptors,
	)...)

	// NotesService is NOT_SERVING while the notes store cannot be reached,
	// whatever its status otherwise.
	health := newHealth(map[string]func() bool{
		notesv1connect.NotesServiceName: func() bool { return store.Available() == nil },
	}, routeguideconnect.RouteGuideName, notesv1connect.NotesServiceName)
	httpOptions := slices.Concat(MessageOptions(limits), cfg.httpOptions)
	mux, err := newMux(rpc, service, health, cfg.services, cfg.signIn, httpOptions...)
	if err != nil {
		return nil, err
	}
	procedures := transport.ProceduresOf(rpc)
	// Calls that the transport refuses before connect-go serves them are
	// recorded, where they are refused, through the same interceptors.
	stack.RecordRefusals(observe.NewRefusals(procedures, interceptors...))
	errorWriter := connecthttp.NewErrorWriter(httpOptions...)
	// Who calls is known before the transport's own layers, so that they
	// could count by it, and before any body is read.
	handler := stack.Handler(&callers{next: mux, trusted: cfg.trusted, verifier: cfg.verifier,
		writes: cfg.writes, errors: errorWriter, metrics: metrics}, procedures, errorWriter)
	// gRPC-Web's text form, which connect-go does not speak, becomes its
	// binary form before any other layer sees the call.
	handler = grpcwebtext.Handler(handler)
	// CORS outermost, so that preflights are answered before anything else.
	if handler, err = browser.CORS(handler, cfg.corsOrigins); err != nil {
		return nil, err
	}
	// Above everything: it works out what each request is, once, for the
	// layers inside, and grows the goroutine's stack while it is shallow.
	handler = stack.Classify(handler, procedures)
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

// newMux registers the services on rpc and mounts it, with the browser
// page, on a mux.
func newMux(rpc *connect.Server, service *routeGuide, health *health, more []func(*connect.Server), signIn browser.SignIn, options ...connecthttp.Option) (*http.ServeMux, error) {
	routeguideconnect.RegisterRouteGuideHandler(rpc, service)
	notesv1connect.RegisterNotesServiceHandler(rpc, &notesService{guide: service})
	if err := health.register(rpc); err != nil {
		return nil, err
	}
	for _, register := range more {
		register(rpc)
	}
	// Last, so that it lists every service.
	grpcreflect.Register(rpc)
	mux := http.NewServeMux()
	connecthttp.Mount(mux, rpc, options...)
	page, err := browser.PageWith(signIn)
	if err != nil {
		return nil, err
	}
	mux.Handle("/", page)
	return mux, nil
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

// notesStats returns what the metrics show of store.
func notesStats(store notes.Store) func() observe.NotesStats {
	return func() observe.NotesStats {
		stats := store.Stats()
		return observe.NotesStats{Notes: stats.Notes, Locations: stats.Locations,
			EvictedLocationFull: stats.Evicted.LocationFull, EvictedStoreFull: stats.Evicted.StoreFull,
			Skipped: stats.Skipped}
	}
}
