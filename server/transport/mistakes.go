package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
)

// acceptedContentTypes are the request Content-Types the server reads, for
// the hint of a call sent with another.
const acceptedContentTypes = "application/proto or application/json (Connect unary), " +
	"application/connect+proto or application/connect+json (Connect streams), " +
	"application/grpc[+proto|+json], application/grpc-web[+proto|+json] or application/grpc-web-text[+proto]"

// answerMistakes answers the calls that net/http or connect-go would answer
// with a bare status and an empty or plain-text body, as an error its caller
// can read and act on: a call to a procedure that does not exist gets
// unimplemented in the caller's own protocol, listing what does exist, and
// a POST to a procedure with a Content-Type no protocol uses gets 415 with a
// Connect JSON error that names the ones it could use. Everything else,
// the browser page included, goes to next.
func answerMistakes(next http.Handler, procedures Procedures, refuser *refuser) http.Handler {
	var services []string
	for path := range procedures {
		service, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		services = append(services, service)
	}
	slices.Sort(services)
	served := strings.Join(slices.Compact(services), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		known := callOf(r, procedures).Known
		switch {
		case known && r.Method == http.MethodPost && !readableContentType(r, refuser.errorWriter):
			// The hint is plain text: every protocol's clients read 415 as
			// unknown, as the Connect conformance suite checks, and a
			// Connect JSON error would make Connect clients read another
			// code from it.
			w.Header().Set("Accept-Post", "application/proto, application/json, application/connect+proto, "+
				"application/connect+json, application/grpc, application/grpc-web, application/grpc-web-text")
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnsupportedMediaType)
			message := fmt.Sprintf("Content-Type %q is not one this server reads: send %s",
				r.Header.Get("Content-Type"), acceptedContentTypes)
			fmt.Fprintln(w, message)
			refuser.record(r, connect.NewError(connect.CodeUnknown, message).WithCause(callerFault{errors.New(message)}))
		case !known && looksLikeCall(r) && connectProtocol(r):
			// Connect clients expect 404 from a server without the
			// procedure (the Connect conformance suite checks it); the
			// body is the Connect error that says what is there.
			if r.ProtoMajor < 2 {
				w.Header().Set("Connection", "close")
			}
			body, _ := json.Marshal(struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			}{connect.CodeUnimplemented.String(), noProcedure(r.URL.Path, served)})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(body)
		case !known && looksLikeCall(r):
			// The caller may still be sending; closing the connection
			// unblocks it, as connect-go does.
			if r.ProtoMajor < 2 {
				w.Header().Set("Connection", "close")
			}
			_ = refuser.errorWriter.Write(w, r, connect.NewError(connect.CodeUnimplemented,
				noProcedure(r.URL.Path, served)))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// readableContentType reports whether some protocol reads the call's
// Content-Type. connect-go's ErrorWriter takes any application/* type for
// Connect unary, but the server reads only the proto and json codecs, so
// plain curl's application/x-www-form-urlencoded would get a bare 415.
func readableContentType(r *http.Request, errorWriter *connecthttp.ErrorWriter) bool {
	if !errorWriter.IsSupported(r) {
		return false
	}
	mediaType, _, _ := strings.Cut(strings.ToLower(r.Header.Get("Content-Type")), ";")
	codec, unary := strings.CutPrefix(strings.TrimSpace(mediaType), "application/")
	if !unary || strings.ContainsAny(codec, "+") || strings.HasPrefix(codec, "grpc") {
		return true // a streaming or gRPC type: connect-go answers each in its own protocol
	}
	return codec == "proto" || codec == "json"
}

// noProcedure says that there is no procedure at path, and which services
// there are.
func noProcedure(path, served string) string {
	return fmt.Sprintf("no procedure %s here: this server serves %s (reflection lists their methods)", path, served)
}

// connectProtocol reports whether a call uses the Connect protocol rather
// than gRPC or gRPC-Web.
func connectProtocol(r *http.Request) bool {
	return r.Method == http.MethodGet || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
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
