// Package server implements the RouteGuide service of the gRPC tutorial as
// one [http.Handler] that speaks gRPC, gRPC-Web (binary and text) and the
// Connect protocol, together with gRPC health checking, server reflection
// and a browser page.
//
// It wires together the packages beside it: the feature index, the notes
// store, the transport's protections, observability and the browser page.
package server

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/grpcreflect/v2"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/server/browser"
	"github.com/routeguide/routeguide/server/budget"
	"github.com/routeguide/routeguide/server/features"
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

// New returns a Server over the features of dataset, copied into an index
// of its own. Every feature must have a location within the valid range of
// latitude and longitude, and the limits, if given, must agree with each
// other.
func New(dataset []*routeguide.Feature, options ...Option) (*Server, error) {
	cfg := config{budget: budget.NewLocal(budget.LocalConfig{})}
	for _, o := range options {
		o.apply(&cfg)
	}
	if err := cfg.limits.Validate(); err != nil {
		return nil, err
	}
	l := cfg.limits.WithDefaults()
	index, err := features.New(dataset)
	if err != nil {
		return nil, err
	}
	store := cfg.notes
	if store == nil {
		store = notes.NewMemory(l)
	}
	metrics, err := observe.NewMetrics(cfg.meterProvider,
		observe.State{Features: index.Len(), Notes: notesStats(store), NotesUp: func() bool { return store.Available() == nil }})
	if err != nil {
		return nil, fmt.Errorf("service metrics: %w", err)
	}
	service := &routeGuide{
		features: index,
		notes:    store,
		metrics:  metrics,
		logger:   cmp.Or(cfg.logger, slog.New(slog.DiscardHandler)),
		limits:   l,
		budget:   cfg.budget,
		trusted:  cfg.trusted,
		watches:  notes.NewAdmission(l),
	}
	stack := transport.New(l)
	if cfg.noFastPaths {
		stack.WithoutFastPaths()
	}
	observers, err := cfg.observers(metrics)
	if err != nil {
		return nil, err
	}
	// The observers outermost, so that they see the codes the transport
	// gives drained, idle and late calls, and the caller's own innermost,
	// so that a panic in those is recovered too.
	rpc := connect.NewServer(slices.Concat(observers, []connect.ServerInterceptor{stack.Interceptor()}, cfg.interceptors)...)

	// NotesService is NOT_SERVING while the notes store cannot be reached,
	// whatever its status otherwise.
	health := newHealth(map[string]func() bool{
		routeguideconnect.RouteGuideName: nil,
		notesv1connect.NotesServiceName:  func() bool { return store.Available() == nil },
	})
	if err := register(rpc, service, health, cfg.services); err != nil {
		return nil, err
	}
	procedures := transport.ProceduresOf(rpc, isWrite)
	// A watch of notes waits for hours: it learns of its deadline and of
	// a drain through transport.OnEnd, and holds no context of its own.
	procedures[notesv1connect.NotesServiceWatchNotesProcedure].EndsThroughLife = true
	// The page at every path that is no procedure's.
	page, err := browser.PageWith(cfg.signIn)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", page)
	httpOptions := slices.Concat(MessageOptions(l), cfg.httpOptions)
	connecthttp.Mount(procedures.Mux(mux), rpc, httpOptions...)
	served := transport.Served{Procedures: procedures, Fallback: mux, Errors: connecthttp.NewErrorWriter(httpOptions...)}
	if cfg.logger != nil || cfg.meterProvider != nil || cfg.tracerProvider != nil {
		// Calls that the transport refuses before connect-go serves them
		// are recorded, where they are refused, through the same
		// interceptors.
		served.Refusals = observe.NewRefusals(rpc.Specs(), observers...)
	}
	if cfg.verifier != nil {
		served.Gate = (&callers{verifier: cfg.verifier, writes: cfg.writes, errors: served.Errors, metrics: metrics}).admit
	}
	handler := stack.Handler(served)
	// CORS outside, so that preflights are answered before anything else,
	// and refusals carry its headers too.
	if handler, err = browser.CORS(handler, cfg.corsOrigins); err != nil {
		return nil, err
	}
	// Above everything: it works out what each request is, once, for the
	// layers inside, and grows the goroutine's stack while it is shallow.
	handler = stack.Classify(handler, procedures)
	return &Server{
		handler:   handler,
		features:  len(dataset),
		health:    health,
		transport: stack,
	}, nil
}

// register registers the services on rpc: RouteGuide, NotesService,
// health checking, those of more, and reflection of them all.
func register(rpc *connect.Server, service *routeGuide, health *health, more []func(*connect.Server)) error {
	routeguideconnect.RegisterRouteGuideHandler(rpc, service)
	notesv1connect.RegisterNotesServiceHandler(rpc, &notesService{guide: service})
	if err := health.register(rpc); err != nil {
		return err
	}
	for _, register := range more {
		register(rpc)
	}
	// Last, so that it lists every service.
	grpcreflect.Register(rpc)
	return nil
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
	s.health.drain()
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
