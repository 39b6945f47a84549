// Package client is the typed Go client of the RouteGuide service. It calls
// every method of any RouteGuide server, over the Connect protocol, gRPC or
// gRPC-Web, and turns streams into iterators.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
)

// Client calls a RouteGuide server. Create one with [New]; it is safe for
// concurrent use.
type Client struct {
	rpc   routeguideconnect.RouteGuideClient
	notes notesv1connect.NotesServiceClient
}

// New returns a Client for the server at baseURL, such as
// http://localhost:50051 (HTTP/2 without TLS) or https://example.com.
func New(baseURL string, options ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want http://HOST[:PORT] or https://HOST[:PORT]", baseURL)
	}
	var c config
	for _, o := range options {
		o.apply(&c)
	}
	if c.httpClient == nil {
		c.httpClient = newHTTP2Client(u.Scheme)
	}
	c.httpClient = withDeadlineBodies(withBearer(c.httpClient, c.token))
	var connectOptions []connecthttp.Option
	switch c.protocol {
	case ProtocolConnect:
	case ProtocolGRPC:
		connectOptions = append(connectOptions, connecthttp.WithGRPC())
	case ProtocolGRPCWeb:
		connectOptions = append(connectOptions, connecthttp.WithGRPCWeb())
	default:
		return nil, fmt.Errorf("unknown protocol %v", c.protocol)
	}
	if c.json {
		connectOptions = append(connectOptions, connecthttp.WithProtoJSON())
	}
	if c.httpGet {
		connectOptions = append(connectOptions, connecthttp.WithHTTPGet())
	}
	connectOptions = append(connectOptions, c.connectOptions...)
	rpc := connect.NewClient(connecthttp.NewTransport(c.httpClient, baseURL, connectOptions...), c.interceptors...)
	return &Client{rpc: routeguideconnect.NewRouteGuideClient(rpc), notes: notesv1connect.NewNotesServiceClient(rpc)}, nil
}

// newHTTP2Client returns a client that speaks only HTTP/2, as gRPC and
// RouteChat require: h2c with prior knowledge for http, ALPN for https.
func newHTTP2Client(scheme string) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Protocols = new(http.Protocols)
	if scheme == "http" {
		transport.Protocols.SetUnencryptedHTTP2(true)
	} else {
		transport.Protocols.SetHTTP2(true)
	}
	return &http.Client{Transport: transport}
}

// GetFeature returns the feature at p. A point with no feature gets a
// Feature with an empty name.
func (c *Client) GetFeature(ctx context.Context, p *routeguide.Point) (*routeguide.Feature, error) {
	return c.rpc.GetFeature(ctx, p)
}

// ListFeatures yields the features inside r as the server sends them. If
// the call fails, the last pair yielded carries the error. Stopping the loop
// early ends the call.
func (c *Client) ListFeatures(ctx context.Context, r *routeguide.Rectangle) iter.Seq2[*routeguide.Feature, error] {
	return func(yield func(*routeguide.Feature, error) bool) {
		stream, err := c.rpc.ListFeatures(ctx, r)
		if err != nil {
			yield(nil, err)
			return
		}
		defer stream.Close()
		for {
			f, err := stream.Receive()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(f, err) || err != nil {
				return
			}
		}
	}
}

// RecordRoute sends every point of route and returns the server's summary.
func (c *Client) RecordRoute(ctx context.Context, route iter.Seq[*routeguide.Point]) (*routeguide.RouteSummary, error) {
	stream, err := c.rpc.RecordRoute(ctx)
	if err != nil {
		return nil, err
	}
	for p := range route {
		// An error here means the server has ended the call; its reason
		// comes from CloseAndReceive.
		if err := stream.Send(p); err != nil {
			break
		}
	}
	return stream.CloseAndReceive()
}

// RouteChat opens a chat: notes sent on it are stored at their locations, and
// each one is answered with every note at its location so far. The caller
// must call CloseSend when done sending and read replies until they end.
func (c *Client) RouteChat(ctx context.Context) *Chat {
	stream, err := c.rpc.RouteChat(ctx)
	return &Chat{stream: stream, err: err}
}

// Chat is an open RouteChat call. Send and CloseSend may be called from one
// goroutine while Receive or Replies run in another.
type Chat struct {
	stream routeguideconnect.RouteGuideRouteChatClientStream
	err    error // why the call could not be opened, which every method returns
}

// Send sends a note. If the server has ended the call, Send returns an error
// wrapping [io.EOF], and Receive returns the reason.
func (c *Chat) Send(note *routeguide.RouteNote) error {
	if c.err != nil {
		return c.err
	}
	return c.stream.Send(note)
}

// CloseSend tells the server no more notes will come. Replies to the notes
// already sent keep arriving.
func (c *Chat) CloseSend() error {
	if c.err != nil {
		return c.err
	}
	return c.stream.CloseSend()
}

// Receive returns the next reply. Once the server has ended the call
// successfully it returns an error for which errors.Is(err, io.EOF) is true.
func (c *Chat) Receive() (*routeguide.RouteNote, error) {
	if c.err != nil {
		return nil, c.err
	}
	return c.stream.Receive()
}

// Replies yields replies until the call ends. If it ends in an error, the
// last pair yielded carries it. Stopping the loop early stops reading
// replies; cancel the context given to RouteChat to end the call.
func (c *Chat) Replies() iter.Seq2[*routeguide.RouteNote, error] {
	return func(yield func(*routeguide.RouteNote, error) bool) {
		if c.err != nil {
			yield(nil, c.err)
			return
		}
		defer c.stream.Close()
		for {
			note, err := c.stream.Receive()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(note, err) || err != nil {
				return
			}
		}
	}
}
