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
// unimplemented in the caller's own protocol, listing what does exist and
// naming the procedure meant where the path is one it resembles; a
// Connect-Protocol-Version other than 1 gets invalid_argument saying so;
// and a POST to a procedure with a Content-Type no protocol uses, or one
// for the other shape of Connect call, gets 415 with a plain-text hint
// that names the ones it could use. Everything else, the browser page
// included, goes to next.
func answerMistakes(next http.Handler, procedures Procedures, refuser *refuser) http.Handler {
	var services []string
	for path := range procedures {
		service, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		services = append(services, service)
	}
	slices.Sort(services)
	served := strings.Join(slices.Compact(services), ", ")
	meant := likelyProcedures(procedures)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callOf(r, procedures)
		switch {
		case call.Known && r.Method == http.MethodPost && call.Protocol == connect.ProtocolNameConnect && badConnectVersion(r):
			refuser.refuse(w, r, connect.Errorf(connect.CodeInvalidArgument,
				"Connect-Protocol-Version %q is not one this server speaks: send 1, or leave the header out",
				r.Header.Get("Connect-Protocol-Version")).WithCause(callerFault{errors.New("bad Connect-Protocol-Version")}))
		case call.Known && r.Method == http.MethodPost && !readableContentType(r, call, refuser.errorWriter):
			// The hint is plain text: every protocol's clients read 415 as
			// unknown, as the Connect conformance suite checks, and a
			// Connect JSON error would make Connect clients read another
			// code from it. The Content-Type sent is not echoed back.
			message := unreadableContentType(call)
			w.Header().Set("Accept-Post", "application/proto, application/json, application/connect+proto, "+
				"application/connect+json, application/grpc, application/grpc-web, application/grpc-web-text")
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusUnsupportedMediaType)
			fmt.Fprintln(w, message)
			refuser.record(r, connect.NewError(connect.CodeUnknown, message).WithCause(callerFault{errors.New(message)}))
		case !call.Known && looksLikeCall(r, meant) && connectProtocol(r):
			// Connect clients expect 404 from a server without the
			// procedure (the Connect conformance suite checks it); the
			// body is the Connect error that says what is there.
			if r.ProtoMajor < 2 {
				w.Header().Set("Connection", "close")
			}
			body, _ := json.Marshal(struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			}{connect.CodeUnimplemented.String(), noProcedure(r.URL.Path, served, meant)})
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(body)
		case !call.Known && looksLikeCall(r, meant):
			// The caller may still be sending; closing the connection
			// unblocks it, as connect-go does.
			if r.ProtoMajor < 2 {
				w.Header().Set("Connection", "close")
			}
			_ = refuser.errorWriter.Write(w, r, connect.NewError(connect.CodeUnimplemented,
				noProcedure(r.URL.Path, served, meant)))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// badConnectVersion reports whether a Connect call names a protocol
// version other than the one there is.
func badConnectVersion(r *http.Request) bool {
	v, sent := r.Header["Connect-Protocol-Version"]
	return sent && (len(v) != 1 || v[0] != "1")
}

// unreadableContentType says what to send instead of a Content-Type the
// call's procedure cannot be read in.
func unreadableContentType(call *Call) string {
	if call.Protocol == connect.ProtocolNameConnect && (call.Codec == "json" || call.Codec == "proto") {
		method := call.Procedure[strings.LastIndex(call.Procedure, "/")+1:]
		if call.StreamType != connect.StreamTypeUnary && !call.Enveloped {
			return fmt.Sprintf("%s is a streaming method: over the Connect protocol its requests are "+
				"application/connect+%s, each message framed by a flag byte and its 4-byte big-endian length; "+
				"application/%s is for unary methods", method, call.Codec, call.Codec)
		}
		if call.StreamType == connect.StreamTypeUnary && call.Enveloped {
			return fmt.Sprintf("%s is a unary method: over the Connect protocol its request is "+
				"application/%s, one message unframed; application/connect+%s is for streaming methods",
				method, call.Codec, call.Codec)
		}
	}
	return "the Content-Type sent is not one this server reads: send " + acceptedContentTypes
}

// readableContentType reports whether some protocol reads the call's
// Content-Type for its procedure. connect-go's ErrorWriter takes any
// application/* type for Connect unary, but the server reads only the proto
// and json codecs, so plain curl's application/x-www-form-urlencoded would
// get a bare 415; and Connect's unary and streaming types are each for
// their own shape of method, where connect-go answers the other with an
// empty 415.
func readableContentType(r *http.Request, call *Call, errorWriter *connecthttp.ErrorWriter) bool {
	if !errorWriter.IsSupported(r) {
		return false
	}
	if call.Protocol != connect.ProtocolNameConnect {
		return true // gRPC and gRPC-Web: connect-go answers each in its own protocol
	}
	if call.Codec != "json" && call.Codec != "proto" {
		return false
	}
	return call.Enveloped == (call.StreamType != connect.StreamTypeUnary)
}

// noProcedure says that there is no procedure at path, names the one that
// was likely meant, if any, and which services there are.
func noProcedure(path, served string, meant map[string]string) string {
	if likely, ok := meant[likelyKey(path)]; ok {
		return fmt.Sprintf("no procedure %s here: did you mean %s? (this server serves %s)", path, likely, served)
	}
	return fmt.Sprintf("no procedure %s here: this server serves %s (reflection lists their methods)", path, served)
}

// likelyProcedures maps the paths a caller may send by mistake for each
// procedure, by [likelyKey], to the procedure's path: its own path in
// another case, and the path without the package (/RouteGuide/GetFeature).
func likelyProcedures(procedures Procedures) map[string]string {
	meant := make(map[string]string, 2*len(procedures))
	for path := range procedures {
		service, method, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		meant[likelyKey(path)] = path
		if i := strings.LastIndex(service, "."); i >= 0 {
			meant[likelyKey("/"+service[i+1:]+"/"+method)] = path
		}
	}
	return meant
}

// likelyKey folds a path for [likelyProcedures].
func likelyKey(path string) string {
	return strings.ToLower(path)
}

// connectProtocol reports whether a call uses the Connect protocol rather
// than gRPC or gRPC-Web.
func connectProtocol(r *http.Request) bool {
	return r.Method == http.MethodGet || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// looksLikeCall reports whether r is shaped like an RPC: a POST, or a
// Connect GET, to a path of the form /package.Service/Method, or to one
// that meant names.
func looksLikeCall(r *http.Request, meant map[string]string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || method == "" || strings.Contains(method, "/") {
		return false
	}
	if _, likely := meant[likelyKey(r.URL.Path)]; !likely && !strings.Contains(service, ".") {
		return false
	}
	return r.Method == http.MethodPost || (r.Method == http.MethodGet && r.URL.Query().Has("message"))
}
