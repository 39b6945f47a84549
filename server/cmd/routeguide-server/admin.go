package main

import (
	"net/http"
	"net/http/pprof"
)

// newAdminHandler serves the endpoints for operators, which the RPC
// listener never serves: metrics for Prometheus at /metrics and the runtime
// profiles of net/http/pprof under /debug/pprof/. The pprof handlers are
// registered here by hand: the package's own registration is on
// http.DefaultServeMux, which nothing serves. /debug/pprof/cmdline shows
// cmdline, the program and its arguments, with every credential hidden.
func newAdminHandler(metrics http.Handler, cmdline []string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.Handle("/debug/pprof/cmdline", cmdlineHandler(cmdline))
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
