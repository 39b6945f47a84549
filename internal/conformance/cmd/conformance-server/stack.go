package main

import (
	"log/slog"
	"net/http"

	"connectrpc.com/connect/v2/connecthttp"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
	"github.com/routeguide/routeguide/internal/conformance"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/transport"
)

// conformanceServer is the ConformanceService served by server.New, the
// stack routeguide-server serves, beside RouteGuide itself, behind
// routeguide-server's http.Server settings.
type conformanceServer struct {
	http    *http.Server
	service *server.Server
	limits  limits.Limits // for the listener too
}

// newConformanceServer returns the server req asks for, without TLS
// configured yet, logging to logger.
func newConformanceServer(req *v1.ServerCompatRequest, logger *slog.Logger) (*conformanceServer, error) {
	l := limits.Default()
	if limit := req.GetMessageReceiveLimit(); limit > 0 {
		l.MaxMessageBytes = int(limit)
	}
	service, err := server.New(nil,
		server.WithLimits(l),
		server.WithLogger(logger),
		server.WithServices(conformance.Register),
		server.WithInterceptors(conformance.AskedDeadline()),
		// The runner's limit is on what the server receives. The service
		// echoes requests back, so its responses are larger than the
		// requests: they keep the server's default bound.
		server.WithHTTPOptions(connecthttp.WithSendMaxBytes(limits.Default().MaxMessageBytes)),
		// Every origin, so that the CORS layer is in the path of every
		// call, as in a server that lets browsers call it.
		server.WithCORSOrigins("*"),
	)
	if err != nil {
		return nil, err
	}
	httpServer := transport.NewHTTPServer(service, l, req.GetUseTls())
	httpServer.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	return &conformanceServer{http: httpServer, service: service, limits: l}, nil
}
