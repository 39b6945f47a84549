package main

import (
	"log/slog"
	"net/http"

	"connectrpc.com/connect"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
	"github.com/routeguide/routeguide/internal/conformance"
)

// newHTTPServer returns the server of the ConformanceService, without TLS
// yet, configured as req asks.
func newHTTPServer(req *v1.ServerCompatRequest, logger *slog.Logger) (*http.Server, error) {
	var options []connect.HandlerOption
	if limit := req.GetMessageReceiveLimit(); limit > 0 {
		options = append(options, connect.WithReadMaxBytes(int(limit)))
	}
	mux := http.NewServeMux()
	mux.Handle(conformance.NewHandler(options...))
	s := &http.Server{
		Handler:   mux,
		Protocols: new(http.Protocols),
		ErrorLog:  slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	s.Protocols.SetHTTP1(true)
	if req.GetUseTls() {
		s.Protocols.SetHTTP2(true)
	} else {
		s.Protocols.SetUnencryptedHTTP2(true)
	}
	return s, nil
}
