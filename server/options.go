package server

import (
	"context"
	"log/slog"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/routeguide/routeguide/server/browser"
	"github.com/routeguide/routeguide/server/clientaddr"
	"github.com/routeguide/routeguide/server/identity"
	"github.com/routeguide/routeguide/server/jsoncodec"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/observe"
	"github.com/routeguide/routeguide/server/transport"
	"github.com/routeguide/routeguide/server/transport/prepared"
	"github.com/routeguide/routeguide/server/transport/vtcodec"
)

// An Option configures a Server. The zero configuration is the safe one.
type Option interface {
	apply(*config)
}

type config struct {
	interceptors   []connect.ServerInterceptor
	httpOptions    []connecthttp.Option
	services       []func(*connect.Server)
	noFastPaths    bool
	limits         limits.Limits
	logger         *slog.Logger
	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider
	corsOrigins    []string
	notes          notes.Store
	signIn         browser.SignIn
	verifier       *identity.Verifier
	writes         Writes
	trusted        *clientaddr.Trusted
	budget         WriteBudget
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithInterceptors adds connect-go interceptors to every service the Server
// serves, inside its own: they see each call with its deadline set, and a
// panic in them, as in a handler, fails only that call. By default the
// Server has only its own.
func WithInterceptors(interceptors ...connect.ServerInterceptor) Option {
	return optionFunc(func(c *config) { c.interceptors = append(c.interceptors, interceptors...) })
}

// WithHTTPOptions adds connect-go options to those with which the Server
// reads and writes messages over HTTP ([MessageOptions]). They apply after
// the Server's own, so they may override its limits.
func WithHTTPOptions(options ...connecthttp.Option) Option {
	return optionFunc(func(c *config) { c.httpOptions = append(c.httpOptions, options...) })
}

// WithServices serves, beside RouteGuide, the services that register
// registers, through the same stack: the same transport protections,
// interceptors and message options. By default the Server serves only its
// own services.
func WithServices(register func(*connect.Server)) Option {
	return optionFunc(func(c *config) { c.services = append(c.services, register) })
}

// WithLimits bounds what clients can make the Server hold or do by l; its
// zero fields keep their defaults. By default the Server applies
// [limits.Default].
func WithLimits(l limits.Limits) Option {
	return optionFunc(func(c *config) { c.limits = l })
}

// WithoutFastPaths turns off the Server's performance-only layers, flush
// coalescing and stack presizing, for diagnosis: what is served stays the
// same. By default they are on.
func WithoutFastPaths() Option {
	return optionFunc(func(c *config) { c.noFastPaths = true })
}

// WithLogger logs one access record per RPC to logger, at a level that
// follows who is at fault: calls that succeed or fail through the client's
// mistake at info (health checks at debug), deadline_exceeded, unavailable
// and unimplemented at warn, and unknown, internal and data_loss at error
// with the cause. A handler that panics is logged at error with its stack,
// and the caller gets internal. By default the Server logs nothing.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithMeterProvider records metrics with provider: the RPC metrics of the
// OpenTelemetry semantic conventions (calls and their duration by method
// and status code) and the service's own, which docs/operations.md lists.
// The provider keeps a reference to the Server's state for as long as it
// lives. By default the Server records no metrics.
func WithMeterProvider(provider metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = provider })
}

// WithTracerProvider starts a server span with provider for every RPC. A
// span continues the trace of a W3C traceparent header sent with the call,
// so that a trace crosses from the caller into this service; put a proxy
// that strips the header in front of the Server if its callers must not
// choose the trace. By default the Server starts no spans.
func WithTracerProvider(provider trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = provider })
}

// WithCORSOrigins lets pages from the given origins call the API from a
// browser, as [browser.CORS] describes, where an origin and its wildcards
// are spelt out. By default no other origin is allowed: only the server's
// own page, at "/", can call it.
func WithCORSOrigins(origins ...string) Option {
	return optionFunc(func(c *config) { c.corsOrigins = append(c.corsOrigins, origins...) })
}

// WithNotesStore keeps RouteChat's notes in store, which replicas of the
// service may share. By default each Server keeps its notes in memory,
// bounded by its [limits.Limits].
func WithNotesStore(store notes.Store) Option {
	return optionFunc(func(c *config) { c.notes = store })
}

// WithPageSignIn tells the browser page how its users sign in: the OpenID
// provider, the page's client ID there, and whether writes need a sign-in.
// The page learns it from GET /auth-config.json. It configures only the
// page; the server's own checks of tokens are configured apart. By default
// the page offers no sign-in.
func WithPageSignIn(signIn browser.SignIn) Option {
	return optionFunc(func(c *config) { c.signIn = signIn })
}

// WithIdentity verifies the bearer tokens of calls with v, so that notes
// carry their authors, moderators may delete notes, and, with
// [WritesSignedIn], only signed-in callers may write. A call that sends a
// token, a read among them, has it verified, and is refused with
// unauthenticated if it is bad, before its body is read. By default the
// Server verifies no tokens: every caller is anonymous, anyone may write
// and nobody may delete.
func WithIdentity(v *identity.Verifier, writes Writes) Option {
	return optionFunc(func(c *config) { c.verifier, c.writes = v, writes })
}

// WithTrustedProxies takes the client's address of a call from
// X-Forwarded-For when the call comes from one of trusted's addresses; the
// listener must take it from their PROXY headers ([clientaddr.Trusted.Listener]).
// Budgets count anonymous callers by that address. By default no proxy is
// trusted: the client is the peer of the connection.
func WithTrustedProxies(trusted *clientaddr.Trusted) Option {
	return optionFunc(func(c *config) { c.trusted = trusted })
}

// WithWriteBudget charges every note written (each PostNote, each note
// of a RouteChat) to its caller's budget in b: the caller's author ID when
// signed in, else its address. A write over budget is refused with
// resource_exhausted and a google.rpc.RetryInfo that says when to try
// again, and stores nothing. By default each Server has a [budget.Local]
// with [budget.DefaultRate] and [budget.DefaultBurst]; a nil b charges
// nothing.
func WithWriteBudget(b WriteBudget) Option {
	return optionFunc(func(c *config) { c.budget = b })
}

// observers returns the interceptors that observe every RPC, outermost
// first: the span is open while [observe.Calls] looks at the call, so log
// records carry the trace id.
func (c *config) observers(metrics *observe.Metrics) ([]connect.ServerInterceptor, error) {
	var interceptors []connect.ServerInterceptor
	if c.meterProvider != nil || c.tracerProvider != nil {
		telemetry, err := observe.Telemetry(c.meterProvider, c.tracerProvider)
		if err != nil {
			return nil, err
		}
		interceptors = append(interceptors, telemetry)
	}
	return append(interceptors, observe.Calls(c.logger, metrics)), nil
}

// MessageOptions returns the connect-go options with which a Server reads
// and sends messages under l, zero fields taking their defaults: the
// size bounds, which responses to compress, binary protobuf through
// generated code and JSON strict about field names. connect-go's gzip stops inflating a message once it is
// past the size bound.
func MessageOptions(l limits.Limits) []connecthttp.Option {
	l = l.WithDefaults()
	return []connecthttp.Option{
		connecthttp.WithReadMaxBytes(l.MaxMessageBytes),
		connecthttp.WithSendMaxBytes(l.MaxMessageBytes),
		connecthttp.WithCompressMinBytes(compressMinBytes),
		// Binary messages encoded by generated code rather than by
		// reflection, the same bytes; JSON that refuses fields it does not
		// know rather than dropping them. A message a handler prepared,
		// such as a note for many watchers, is written as it was encoded
		// once.
		connecthttp.WithCodecs(prepared.Codec(vtcodec.Codec{}), prepared.Codec(jsoncodec.New(asksLenientJSON,
			"send "+transport.LenientJSONHeader+": ignore"))),
	}
}

// asksLenientJSON reports whether the call of ctx asked for JSON fields the
// server does not know to be ignored.
func asksLenientJSON(ctx context.Context) bool {
	c, ok := transport.CallOf(ctx)
	return ok && c.LenientJSON
}

// compressMinBytes is the smallest response message the server compresses
// when the client accepts compression. connect-go compresses every message
// by default, and its clients offer gzip by default, but a RouteGuide
// message is tens of bytes: gzip makes it no smaller and, by resetting a
// compressor per message, made each RouteChat reply cost ten times the CPU
// of the grpc-go reference's uncompressed one.
const compressMinBytes = 1024
