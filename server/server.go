// Package server implements the RouteGuide service of the gRPC tutorial as
// one [http.Handler] that speaks gRPC, gRPC-Web and the Connect protocol,
// together with gRPC health checking, server reflection and a browser page.
package server

import (
	"fmt"
	"net/http"
	"slices"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
)

// Server serves RouteGuide, health checking, reflection and the browser
// page. Create one with [New]; it is safe for concurrent use.
type Server struct {
	handler  http.Handler
	features int
	health   *grpchealth.StaticChecker
	calls    *callGuard
}

// New returns a Server over features, copied into an index of its own.
// Every feature must have a location within the valid range of latitude and
// longitude.
func New(features []*routeguide.Feature, options ...Option) (*Server, error) {
	var cfg config
	for _, o := range options {
		o.apply(&cfg)
	}
	for i, f := range features {
		if err := checkPoint("location", f.GetLocation()); err != nil {
			return nil, fmt.Errorf("feature %d (%q): %w", i, f.GetName(), err)
		}
	}
	limits := cfg.limits.withDefaults()
	index, err := newFeatureIndex(features)
	if err != nil {
		return nil, err
	}
	service := &routeGuide{
		features:       index,
		notes:          newNoteStore(limits.MaxNotesPerLocation, limits.MaxStoredNoteBytes),
		maxRoutePoints: limits.MaxRoutePoints,
		maxNoteBytes:   limits.MaxNoteBytes,
	}
	observe, err := cfg.observe.handlerOptions(service)
	if err != nil {
		return nil, err
	}
	calls := newCallGuard(limits)
	handlerOptions := connect.WithHandlerOptions(slices.Concat(
		[]connect.HandlerOption{
			connect.WithReadMaxBytes(limits.MaxMessageBytes),
			connect.WithSendMaxBytes(limits.MaxMessageBytes),
			connect.WithCompressMinBytes(compressMinBytes),
		},
		// Telemetry outermost, so that it sees the codes the call guard
		// gives drained, idle and late calls.
		observe,
		[]connect.HandlerOption{
			connect.WithInterceptors(calls),
			// Innermost, so that every interceptor sees the internal error a
			// panic turns into.
			connect.WithRecover(cfg.observe.recoverPanic),
		},
		cfg.handlerOptions)...)

	health := grpchealth.NewStaticChecker(routeguideconnect.RouteGuideName)
	mux, err := newMux(service, health, handlerOptions)
	if err != nil {
		return nil, err
	}
	var handler http.Handler = requireHTTP2ForBidi(mux, connect.NewErrorWriter(handlerOptions))
	handler = guardProgress(handler, limits.StreamIdleTimeout, limits.WriteTimeout, unaryProcedure)
	// CORS outermost, so that preflights are answered before anything else.
	if handler, err = withCORS(handler, cfg.corsOrigins); err != nil {
		return nil, err
	}
	return &Server{
		handler:  handler,
		features: len(features),
		health:   health,
		calls:    calls,
	}, nil
}

// newMux mounts RouteGuide, health checking, reflection and the browser
// page.
func newMux(service *routeGuide, health *grpchealth.StaticChecker, options connect.HandlerOption) (*http.ServeMux, error) {
	reflector := grpcreflect.NewStaticReflector(
		routeguideconnect.RouteGuideName,
		grpchealth.HealthV1ServiceName,
		grpcreflect.ReflectV1ServiceName,
		grpcreflect.ReflectV1AlphaServiceName,
	)
	mux := http.NewServeMux()
	path, routeGuideHandler := routeguideconnect.NewRouteGuideHandler(service, options)
	mux.Handle(path, coalesceFlushes(routeGuideHandler, streamsResponses))
	mux.Handle(grpchealth.NewHandler(health, options))
	mux.Handle(grpcreflect.NewHandlerV1(reflector, options))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, options))
	page, err := embeddedPage()
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
	s.health.SetStatus("", grpchealth.StatusNotServing)
	s.health.SetStatus(routeguideconnect.RouteGuideName, grpchealth.StatusNotServing)
	s.calls.drain()
}
