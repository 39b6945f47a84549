// Package server implements the RouteGuide service of the gRPC tutorial as
// one [http.Handler] that speaks gRPC, gRPC-Web and the Connect protocol,
// together with gRPC health checking and server reflection.
package server

import (
	"fmt"
	"net/http"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
)

// MaxMessageBytes is the largest message, after decompression, that the
// server accepts; a larger one fails its call with resource_exhausted. It is
// grpc-go's default and far above any RouteGuide message, which is tiny.
const MaxMessageBytes = 4 << 20

// Server serves RouteGuide, health checking and reflection. Create one with
// [New]; it is safe for concurrent use.
type Server struct {
	mux      *http.ServeMux
	features int
}

// New returns a Server over features, which it keeps: the caller must not
// modify them afterwards. Every feature must have a location within the valid
// range of latitude and longitude.
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
	index, err := newFeatureIndex(features)
	if err != nil {
		return nil, err
	}
	service := &routeGuide{features: index, notes: newNoteStore()}
	handlerOptions := connect.WithHandlerOptions(append(
		[]connect.HandlerOption{connect.WithReadMaxBytes(MaxMessageBytes), connect.WithCompressMinBytes(compressMinBytes)},
		cfg.handlerOptions...)...)

	services := []string{
		routeguideconnect.RouteGuideName,
		grpchealth.HealthV1ServiceName,
		grpcreflect.ReflectV1ServiceName,
		grpcreflect.ReflectV1AlphaServiceName,
	}
	reflector := grpcreflect.NewStaticReflector(services...)
	mux := http.NewServeMux()
	path, routeGuideHandler := routeguideconnect.NewRouteGuideHandler(service, handlerOptions)
	mux.Handle(path, coalesceFlushes(routeGuideHandler, streamsResponses))
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(routeguideconnect.RouteGuideName), handlerOptions))
	mux.Handle(grpcreflect.NewHandlerV1(reflector, handlerOptions))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, handlerOptions))
	return &Server{mux: mux, features: len(features)}, nil
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// FeatureCount returns the number of features the server answers from.
func (s *Server) FeatureCount() int {
	return s.features
}
