// Package grpcwebtext translates the text form of gRPC-Web, in which request
// and response bodies travel in base64, for a handler that speaks only
// binary gRPC-Web, such as one of connect-go. Google's grpc-web client for
// browsers uses the text form unless told otherwise.
package grpcwebtext

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// The media types of gRPC-Web. The text form names the same codecs as the
// binary one, with "-text" after "grpc-web".
const (
	binaryType = "application/grpc-web"
	textType   = "application/grpc-web-text"
)

// Translate returns the writer and the request with which to serve r, a
// gRPC-Web call that a server has classified as one in the text form, or
// one that asks for a response in it, through a handler that speaks only
// the binary form; and whether to serve it at all.
//
// A request whose Content-Type is application/grpc-web-text or
// application/grpc-web-text+proto is returned with its body decoded from
// base64 as it arrives and its Content-Type made the binary one's
// (application/grpc-web or application/grpc-web+proto). The body may be
// several base64 chunks, each padded, one after another, as the gRPC-Web
// protocol allows; line breaks are ignored. Base64 that is not valid fails
// the read with a *connect.Error of code invalid_argument, which connect-go
// answers in the call's own framing.
//
// The response to such a request, and to a binary gRPC-Web request whose
// Accept header asks for application/grpc-web-text, is encoded the other
// way by the Writer returned: a binary gRPC-Web Content-Type becomes the
// text one and the body is sent in base64 as it is written. At each flush
// the bytes written so far go out as a padded chunk, so the messages of a
// server stream reach the client as they are sent. A response of any other
// type, such as a plain-text 404, is passed on as it is. The caller must
// call [Writer.Finish] once it has served the request. A nil Writer means
// that r needs no translation.
//
// Other text codecs, application/grpc-web-text+json among them, are
// answered with 415 Unsupported Media Type, and ok is false: the text form
// exists for protobuf, and no client sends JSON in base64.
//
// Each call costs a fixed few kilobytes of buffers, whatever the size of
// its messages.
func Translate(w http.ResponseWriter, r *http.Request) (tw *Writer, _ *http.Request, ok bool) {
	contentType := r.Header.Get("Content-Type")
	mediaType := baseType(contentType)
	binary, known := binaryFor(mediaType)
	switch {
	case strings.HasPrefix(mediaType, textType) && !known:
		unsupported(w, contentType)
		return nil, r, false
	case known:
		r = r.Clone(r.Context())
		r.Header.Set("Content-Type", binary)
		r.Header.Del("Content-Length")
		r.ContentLength = -1
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = newDecoder(r.Body)
		}
	case (mediaType == binaryType || strings.HasPrefix(mediaType, binaryType+"+")) && AcceptsText(r.Header):
		// A binary request that asks for a text response.
	default:
		return nil, r, true
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

// baseType returns the media type of a Content-Type value in lower case,
// without parameters, or the whole value trimmed if it does not parse.
func baseType(contentType string) string {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(contentType))
	}
	return mediaType
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
