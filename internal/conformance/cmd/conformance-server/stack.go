package main

import (
	"log/slog"
	"net/http"

	"connectrpc.com/connect"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
	"github.com/routeguide/routeguide/gen/connectrpc/conformance/v1/conformancev1connect"
	"github.com/routeguide/routeguide/internal/conformance"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/browser"
	"github.com/routeguide/routeguide/server/grpcwebtext"
	"github.com/routeguide/routeguide/server/observe"
	"github.com/routeguide/routeguide/server/transport"
)

// conformanceServer is the ConformanceService behind routeguide-server's
// stack, in the order server.New builds it: message limits and
// compression, the access log and the transport's call guard, panic
// recovery, the transport's progress guard, flush coalescing, HTTP/1 rule
// and answers to mistakes, the gRPC-Web text translation, CORS, and
// routeguide-server's http.Server settings and connection limit.
type conformanceServer struct {
	http  *http.Server
	stack *transport.Stack
}

// newConformanceServer returns the server req asks for, without TLS
// configured yet, logging to logger.
func newConformanceServer(req *v1.ServerCompatRequest, logger *slog.Logger) (*conformanceServer, error) {
	limits := server.DefaultLimits()
	if limit := req.GetMessageReceiveLimit(); limit > 0 {
		limits.MaxMessageBytes = int(limit)
	}
	procedures, err := transport.ProceduresOf(conformancev1connect.ConformanceServiceName)
	if err != nil {
		return nil, err
	}
	stack := transport.New(procedures, limits.TransportLimits())
	options := connect.WithHandlerOptions(
		server.MessageOptions(limits),
		// The runner's limit is on what the server receives. The service
		// echoes requests back, so its responses are larger than the
		// requests: they keep the server's default bound.
		connect.WithSendMaxBytes(server.DefaultLimits().MaxMessageBytes),
		connect.WithInterceptors(observe.AccessLog(logger), stack.Interceptor()),
		connect.WithRecover(observe.RecoverPanic(logger)),
	)
	mux := http.NewServeMux()
	mux.Handle(conformance.NewHandler(options))
	handler := stack.Handler(mux, connect.NewErrorWriter(options))
	// A pass-through for the binary protocols the suite speaks, but in the
	// path of every call in routeguide-server.
	handler = grpcwebtext.Handler(handler)
	// Every origin, so that the CORS layer is in the path of every call, as
	// in a server that lets browsers call it.
	handler, err = browser.CORS(handler, []string{"*"})
	if err != nil {
		return nil, err
	}
	httpServer := transport.NewHTTPServer(handler, transport.ConnLimits{}, req.GetUseTls())
	httpServer.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	return &conformanceServer{http: httpServer, stack: stack}, nil
}
