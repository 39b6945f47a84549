package transport

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"connectrpc.com/connect"
)

// acceptedContentTypes are the request Content-Types the server reads, for
// the hint of a call sent with another.
const acceptedContentTypes = "application/proto or application/json (Connect unary), " +
	"application/connect+proto or application/connect+json (Connect streams), " +
	"application/grpc[+proto|+json] or application/grpc-web[+proto|+json]"

// answerMistakes answers the calls that net/http or connect-go would answer
// with a bare status and an empty or plain-text body, as an error its caller
// can read and act on: a call to a procedure that does not exist gets
// unimplemented in the caller's own protocol, listing what does exist, and
// a POST to a procedure with a Content-Type no protocol uses gets 415 with a
// Connect JSON error that names the ones it could use. Everything else,
// the browser page included, goes to next.
func answerMistakes(next http.Handler, procedures Procedures, errorWriter *connect.ErrorWriter) http.Handler {
	var services []string
	for path := range procedures {
		service, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		services = append(services, service)
	}
	slices.Sort(services)
	served := strings.Join(slices.Compact(services), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, known := procedures[r.URL.Path]
		switch {
		case known && r.Method == http.MethodPost && !errorWriter.IsSupported(r):
			w.Header().Set("Accept-Post", "application/proto, application/json, application/connect+proto, "+
				"application/connect+json, application/grpc, application/grpc-web")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnsupportedMediaType)
			fmt.Fprintf(w, `{"code":"invalid_argument","message":%q}`, fmt.Sprintf(
				"Content-Type %q is not one this server reads: send %s",
				r.Header.Get("Content-Type"), acceptedContentTypes))
		case !known && looksLikeCall(r):
			// The caller may still be sending; closing the connection
			// unblocks it, as connect-go does.
			if r.ProtoMajor < 2 {
				w.Header().Set("Connection", "close")
			}
			_ = errorWriter.Write(w, r, connect.NewError(connect.CodeUnimplemented, fmt.Errorf(
				"no procedure %s here: this server serves %s (reflection lists their methods)", r.URL.Path, served)))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// looksLikeCall reports whether r is shaped like an RPC: a POST, or a
// Connect GET, to a path of the form /package.Service/Method.
func looksLikeCall(r *http.Request) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || !strings.Contains(service, ".") || method == "" || strings.Contains(method, "/") {
		return false
	}
	return r.Method == http.MethodPost || (r.Method == http.MethodGet && r.URL.Query().Has("message"))
}
