// Package grpcwebtext translates the text form of gRPC-Web, in which request
// and response bodies travel in base64, for a handler that speaks only
// binary gRPC-Web, such as one of connect-go. Google's grpc-web client for
// browsers uses the text form unless told otherwise.
package grpcwebtext

import (
	"fmt"
	"net/http"
	"strings"
)

// The media types of gRPC-Web. The text form names the same codecs as the
// binary one, with "-text" after "grpc-web".
const (
	binaryType = "application/grpc-web"
	textType   = "application/grpc-web-text"
)

// Translate returns the writer and the request with which to serve r
// through a handler that speaks only binary gRPC-Web, and whether to serve
// it at all. Its caller has classified r once: a gRPC-Web call in the text
// form, or a binary one whose Accept header asks for a text response
// ([AcceptsText]), with mediaType its Content-Type's media type in lower
// case without parameters.
//
// A request of type application/grpc-web-text[+proto] is returned with its
// Content-Type the binary one's and its body decoded from base64 as it
// arrives: padded chunks may follow one another, line breaks are ignored,
// and bad base64 fails the read with invalid_argument, which connect-go
// answers in the call's own framing. Other text codecs, +json among them,
// are answered with 415 Unsupported Media Type, and ok is false: the text
// form exists for protobuf, and no client sends JSON in base64.
//
// The [Writer] returned encodes the response; the caller must call
// [Writer.Finish] once it has served the request. Each call costs a fixed
// few kilobytes of buffers, whatever the size of its messages.
func Translate(w http.ResponseWriter, r *http.Request, mediaType string) (tw *Writer, _ *http.Request, ok bool) {
	if strings.HasPrefix(mediaType, textType) {
		binary, known := binaryFor(mediaType)
		if !known {
			unsupported(w, r.Header.Get("Content-Type"))
			return nil, r, false
		}
		r = r.Clone(r.Context())
		r.Header.Set("Content-Type", binary)
		r.Header.Del("Content-Length")
		r.ContentLength = -1
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = newDecoder(r.Body)
		}
	}
	return &Writer{w: w}, r, true
}

// binaryFor returns the binary media type that the text mediaType stands
// for, and whether it is one this package translates.
func binaryFor(mediaType string) (string, bool) {
	switch mediaType {
	case textType:
		return binaryType, true
	case textType + "+proto":
		return binaryType + "+proto", true
	}
	return "", false
}

// baseType returns the media type of a Content-Type or media range in lower
// case, without parameters.
func baseType(contentType string) string {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mediaType))
}

// AcceptsText reports whether an Accept header lists the text form, as the
// gRPC-Web protocol has a client ask for a text response.
func AcceptsText(h http.Header) bool {
	for _, value := range h.Values("Accept") {
		for mediaRange := range strings.SplitSeq(value, ",") {
			if _, ok := binaryFor(baseType(mediaRange)); ok {
				return true
			}
		}
	}
	return false
}

// unsupported answers a request in a text form this package does not
// translate, naming the ones it does, in plain text, as the server answers
// other Content-Types it does not read: every protocol's clients read 415
// as unknown, and a body in one protocol's error format would make its
// clients read another code from it.
func unsupported(w http.ResponseWriter, contentType string) {
	w.Header().Set("Accept-Post", textType+", "+textType+"+proto")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnsupportedMediaType)
	fmt.Fprintf(w, "gRPC-Web text mode carries protobuf only: Content-Type %q is not served; send %s or %s+proto, or JSON as binary %s+json\n",
		strings.TrimSpace(contentType), textType, textType, binaryType)
}
