package transport

import (
	"encoding/json"
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

// mistakes answers the calls of procedures that do not exist, which
// net/http or connect-go would answer with a bare status, with
// unimplemented in the caller's own protocol, listing what does exist and
// naming the procedure meant where the path resembles one.
type mistakes struct {
	served string            // the services there are, for the answer
	meant  map[string]string // see likelyProcedures
}

func newMistakes(procedures Procedures) mistakes {
	var services []string
	for path := range procedures {
		service, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		services = append(services, service)
	}
	slices.Sort(services)
	return mistakes{served: strings.Join(slices.Compact(services), ", "), meant: likelyProcedures(procedures)}
}

// answerUnknown answers r, a request for no procedure, if it is shaped
// like a call, and reports whether it did.
func (m mistakes) answerUnknown(w http.ResponseWriter, r *http.Request, call *Call, errorWriter *connecthttp.ErrorWriter) bool {
	if !looksLikeCall(r, m.meant) {
		return false
	}
	// The caller may still be sending; closing the connection unblocks
	// it, as connect-go does.
	if r.ProtoMajor < 2 {
		w.Header().Set("Connection", "close")
	}
	message := noProcedure(r.URL.Path, m.served, m.meant)
	if call.Protocol != connect.ProtocolNameConnect {
		WriteError(errorWriter, w, r, connect.NewError(connect.CodeUnimplemented, message))
		return true
	}
	// Connect clients expect 404 from a server without the procedure (the
	// Connect conformance suite checks it); the body is the Connect error
	// that says what is there.
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{connect.CodeUnimplemented.String(), message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(body)
	return true
}

// WriteError answers r with err, in its caller's protocol, through errs.
//
// connect-go answers a gRPC call this way with headers that announce its
// trailers and no body; net/http, seeing nothing written, then sends
// "content-length: 0" ahead of the trailers, and HAProxy 2.6 drops the
// trailers of such answers (2% to over half of them in our runs): its
// client reads unknown with no message. Flushing the headers first sends
// them without a length, as connect-go's handlers do when a call fails.
func WriteError(errs *connecthttp.ErrorWriter, w http.ResponseWriter, r *http.Request, err error) {
	_ = errs.Write(w, r, err)
	if w.Header().Get("Trailer") != "" {
		_ = http.NewResponseController(w).Flush()
	}
}

// badConnectVersion reports whether a Connect call names a protocol
// version other than the one there is.
func badConnectVersion(r *http.Request) bool {
	v, sent := r.Header["Connect-Protocol-Version"]
	return sent && (len(v) != 1 || v[0] != "1")
}

// unreadable says what to send instead of the Content-Type of a POST for
// the call's procedure, or "" if some protocol reads it. connect-go would
// answer with a bare 415 both a codec the server lacks (plain curl's
// application/x-www-form-urlencoded, for Connect unary) and Connect's
// unary and streaming types sent for the other shape of method.
func unreadable(call *Call) string {
	if call.Protocol != connect.ProtocolNameConnect {
		return "" // gRPC and gRPC-Web: connect-go answers each in its own protocol
	}
	if call.Codec == "json" || call.Codec == "proto" {
		method := call.Procedure[strings.LastIndex(call.Procedure, "/")+1:]
		switch unary := call.StreamType == connect.StreamTypeUnary; {
		case !unary && !call.Enveloped:
			return fmt.Sprintf("%s is a streaming method: over the Connect protocol its requests are "+
				"application/connect+%s, each message framed by a flag byte and its 4-byte big-endian length; "+
				"application/%s is for unary methods", method, call.Codec, call.Codec)
		case unary && call.Enveloped:
			return fmt.Sprintf("%s is a unary method: over the Connect protocol its request is "+
				"application/%s, one message unframed; application/connect+%s is for streaming methods",
				method, call.Codec, call.Codec)
		case strings.HasPrefix(call.mediaType, "application/"):
			return ""
		}
	}
	return "the Content-Type sent is not one this server reads: send " + acceptedContentTypes
}

// noProcedure says that there is no procedure at path, names the one that
// was likely meant, if any, and which services there are.
func noProcedure(path, served string, meant map[string]string) string {
	if likely, ok := meant[strings.ToLower(path)]; ok {
		return fmt.Sprintf("no procedure %s here: did you mean %s? (this server serves %s)", path, likely, served)
	}
	return fmt.Sprintf("no procedure %s here: this server serves %s (reflection lists their methods)", path, served)
}

// likelyProcedures maps the paths a caller may send by mistake for each
// procedure, in lower case, to the procedure's path: its own path in
// another case, and the path without the package (/RouteGuide/GetFeature).
func likelyProcedures(procedures Procedures) map[string]string {
	meant := make(map[string]string, 2*len(procedures))
	for path := range procedures {
		service, method, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		meant[strings.ToLower(path)] = path
		if i := strings.LastIndex(service, "."); i >= 0 {
			meant[strings.ToLower("/"+service[i+1:]+"/"+method)] = path
		}
	}
	return meant
}

// looksLikeCall reports whether r is shaped like an RPC: a POST, or a
// Connect GET, to a path of the form /package.Service/Method, or to one
// that meant names.
func looksLikeCall(r *http.Request, meant map[string]string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || method == "" || strings.Contains(method, "/") {
		return false
	}
	if _, likely := meant[strings.ToLower(r.URL.Path)]; !likely && !strings.Contains(service, ".") {
		return false
	}
	return r.Method == http.MethodPost || (r.Method == http.MethodGet && r.URL.Query().Has("message"))
}
