package server

import "connectrpc.com/connect"

// An Option configures a Server. The zero configuration is the safe one.
type Option interface {
	apply(*config)
}

type config struct {
	handlerOptions []connect.HandlerOption
	limits         Limits
	observe        observability
	corsOrigins    []string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithHandlerOptions adds connect-go handler options, such as interceptors,
// to every service the Server mounts. They apply after the Server's own, so
// they may override its limits.
func WithHandlerOptions(options ...connect.HandlerOption) Option {
	return optionFunc(func(c *config) { c.handlerOptions = append(c.handlerOptions, options...) })
}
