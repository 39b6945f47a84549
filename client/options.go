package client

import (
	"fmt"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
)

// Protocol is the RPC protocol a Client speaks.
type Protocol int

const (
	// ProtocolConnect is the Connect protocol, the default.
	ProtocolConnect Protocol = iota
	// ProtocolGRPC is gRPC, as spoken by every gRPC server.
	ProtocolGRPC
	// ProtocolGRPCWeb is gRPC-Web, as spoken by browsers.
	ProtocolGRPCWeb
)

// String returns the name ParseProtocol accepts: connect, grpc or grpcweb.
func (p Protocol) String() string {
	switch p {
	case ProtocolConnect:
		return "connect"
	case ProtocolGRPC:
		return "grpc"
	case ProtocolGRPCWeb:
		return "grpcweb"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// ParseProtocol returns the Protocol named connect, grpc or grpcweb.
func ParseProtocol(name string) (Protocol, error) {
	for _, p := range []Protocol{ProtocolConnect, ProtocolGRPC, ProtocolGRPCWeb} {
		if p.String() == name {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown protocol %q: want connect, grpc or grpcweb", name)
}

// An Option configures a Client. The zero configuration speaks the Connect
// protocol with the binary codec over HTTP/2.
type Option interface {
	apply(*config)
}

type config struct {
	protocol       Protocol
	json           bool
	httpGet        bool
	httpClient     connecthttp.HTTPClient
	connectOptions []connecthttp.Option
	interceptors   []connect.ClientInterceptor
	token          string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithProtocol sets the RPC protocol. The default is [ProtocolConnect].
func WithProtocol(p Protocol) Option {
	return optionFunc(func(c *config) { c.protocol = p })
}

// WithJSON sends and receives messages as JSON rather than the default binary
// protobuf encoding.
func WithJSON() Option {
	return optionFunc(func(c *config) { c.json = true })
}

// WithHTTPGet makes GetFeature, which has no side effects, use HTTP GET when
// the protocol is Connect, so that HTTP caches can keep its answers. By
// default every call is a POST.
func WithHTTPGet() Option {
	return optionFunc(func(c *config) { c.httpGet = true })
}

// WithHTTPClient sets the HTTP client calls are made with. The default speaks
// HTTP/2 to every server: without TLS (h2c) for http:// URLs and through TLS
// for https:// URLs. RouteChat needs HTTP/2; a client that speaks only
// HTTP/1.1 gets an unimplemented error from it.
func WithHTTPClient(client connecthttp.HTTPClient) Option {
	return optionFunc(func(c *config) { c.httpClient = client })
}

// WithConnectOptions adds connect-go's HTTP transport options, such as
// compression or message size bounds, to the ones the other options imply.
func WithConnectOptions(options ...connecthttp.Option) Option {
	return optionFunc(func(c *config) { c.connectOptions = append(c.connectOptions, options...) })
}

// WithInterceptors adds connect-go client interceptors, such as
// otelconnect's, to every call, the first outermost. By default there are
// none.
func WithInterceptors(interceptors ...connect.ClientInterceptor) Option {
	return optionFunc(func(c *config) { c.interceptors = append(c.interceptors, interceptors...) })
}
