package observe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"connectrpc.com/connect/v2"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Telemetry returns otelconnect's interceptor, which records the RPC
// metrics of the OpenTelemetry semantic conventions with meterProvider and
// a server span per call with tracerProvider, continuing the trace of a W3C
// traceparent header. Either provider may be nil to record none of its kind.
func Telemetry(meterProvider metric.MeterProvider, tracerProvider trace.TracerProvider) (connect.ServerInterceptor, error) {
	if meterProvider == nil {
		meterProvider = metricnoop.NewMeterProvider()
	}
	if tracerProvider == nil {
		tracerProvider = tracenoop.NewTracerProvider()
	}
	otel, err := otelconnect.NewServerInterceptor(
		otelconnect.WithMeterProvider(meterProvider),
		otelconnect.WithTracerProvider(tracerProvider),
		otelconnect.WithPropagator(propagation.TraceContext{}),
		otelconnect.WithTrustRemote(),
	)
	if err != nil {
		return nil, fmt.Errorf("rpc telemetry: %w", err)
	}
	return otel, nil
}

// meterName is the instrumentation scope of the service's own metrics.
const meterName = "github.com/routeguide/routeguide/server"

// Metrics records what the RPC metrics cannot see: the state of the service
// and the streams open on it, which [Calls] counts. A nil *Metrics records
// nothing, so code that reports to it need not check whether metrics are on.
type Metrics struct {
	openStreams                          metric.Int64UpDownCounter
	rejected, authRefused, writesRefused metric.Int64Counter
	budgetsUnshared                      metric.Int64Counter
	// methods holds the attribute set of each procedure streamed so far,
	// by procedure: sorting and hashing a set for every stream would cost
	// an allocation and a fifth of a short stream's metrics.
	// Only mounted procedures reach an interceptor, so it stays small.
	methods sync.Map
}

// State is what the service's gauges read, each time the provider collects
// and never in between, so they cost nothing between scrapes.
type State struct {
	// Features is the number of features loaded.
	Features int
	// Notes describes the notes store at the moment it is called.
	Notes func() NotesStats
	// NotesUp reports whether the notes store can take notes; nil means
	// always.
	NotesUp func() bool
}

// NotesStats is what the gauges show of the notes store.
type NotesStats struct {
	Notes, Locations int
	// EvictedLocationFull and EvictedStoreFull count the notes dropped for
	// newer ones because their location or the whole store was full.
	EvictedLocationFull, EvictedStoreFull uint64
	// Skipped counts the messages in the store that the server did not
	// write or cannot read, which feeds pass over.
	Skipped uint64
}

// NewMetrics creates the service's instruments with provider, reading state
// for its gauges and the store's eviction counters. A nil provider records
// nothing and returns a nil *Metrics.
func NewMetrics(provider metric.MeterProvider, state State) (*Metrics, error) {
	if provider == nil {
		return nil, nil
	}
	meter := provider.Meter(meterName)
	var errs []error
	counter := func(name, unit, description string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(description))
		errs = append(errs, err)
		return c
	}
	var observed []metric.Observable
	observe := func(o metric.Int64Observable, err error) metric.Int64Observable {
		errs, observed = append(errs, err), append(observed, o)
		return o
	}
	gauge := func(name, unit, description string) metric.Int64Observable {
		return observe(meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(description)))
	}
	total := func(name, unit, description string) metric.Int64Observable {
		return observe(meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(description)))
	}
	m := &Metrics{
		rejected:      counter("routeguide.notes.rejected", "{note}", "Notes the service turned away, by reason."),
		authRefused:   counter("routeguide.auth.refused", "{call}", "Calls refused for their bearer token, by reason (missing, expired, wrong-audience, ...)."),
		writesRefused: counter("routeguide.writes.refused", "{write}", "Writes refused, by reason: over_budget, not_moderator."),
		budgetsUnshared: counter("routeguide.writes.budget.unshared", "{write}",
			"Writes whose budget this replica checked alone, without the budgets it shares with other replicas, which it could not reach in time, by decision: allowed, refused."),
	}
	var err error
	m.openStreams, err = meter.Int64UpDownCounter("routeguide.streams.open",
		metric.WithUnit("{stream}"), metric.WithDescription("Streaming RPCs in progress, by method."))
	errs = append(errs, err)
	evicted := total("routeguide.notes.evicted", "{note}", "Stored notes dropped to make room for newer ones, by reason.")
	features := gauge("routeguide.features", "{feature}", "Features loaded from the dataset.")
	stored := gauge("routeguide.notes", "{note}", "Notes RouteChat holds, at every location.")
	locations := gauge("routeguide.notes.locations", "{location}", "Distinct locations that have at least one note.")
	skipped := total("routeguide.notes.skipped", "{message}",
		"Messages in the notes store that this replica could not read as notes (a foreign subject, text that is not UTF-8, bad headers) and skipped.")
	up := gauge("routeguide.notes.store.up", "", "1 while the notes store can take notes, 0 while it cannot be reached.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	locationFull := metric.WithAttributes(attribute.String("reason", "location_full"))
	storeFull := metric.WithAttributes(attribute.String("reason", "store_full"))
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		stats := state.Notes()
		o.ObserveInt64(features, int64(state.Features))
		o.ObserveInt64(stored, int64(stats.Notes))
		o.ObserveInt64(locations, int64(stats.Locations))
		o.ObserveInt64(evicted, int64(stats.EvictedLocationFull), locationFull)
		o.ObserveInt64(evicted, int64(stats.EvictedStoreFull), storeFull)
		o.ObserveInt64(skipped, int64(stats.Skipped))
		storeUp := int64(1)
		if state.NotesUp != nil && !state.NotesUp() {
			storeUp = 0
		}
		o.ObserveInt64(up, storeUp)
		return nil
	}, observed...)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// NoteRejected counts a note the service turned away for reason, a short
// snake_case word such as "message_too_long" that becomes the reason label.
func (m *Metrics) NoteRejected(reason string) {
	if m != nil {
		countReason(m.rejected, reason)
	}
}

// AuthRefused counts a call refused for its bearer token, for reason, the
// token's [identity.Reason] in its string form.
func (m *Metrics) AuthRefused(reason string) {
	if m != nil {
		countReason(m.authRefused, reason)
	}
}

// WriteRefused counts a write refused for reason, a short snake_case word
// such as "over_budget".
func (m *Metrics) WriteRefused(reason string) {
	if m != nil {
		countReason(m.writesRefused, reason)
	}
}

// BudgetUnshared counts a write whose budget was checked by this replica
// alone, and whether it was allowed.
func (m *Metrics) BudgetUnshared(allowed bool) {
	if m == nil {
		return
	}
	decision := unsharedRefused
	if allowed {
		decision = unsharedAllowed
	}
	m.budgetsUnshared.Add(context.Background(), 1, decision)
}

// The decisions of BudgetUnshared, made once: an attribute set is sorted
// and hashed as it is made.
var (
	unsharedAllowed = metric.WithAttributes(attribute.String("decision", "allowed"))
	unsharedRefused = metric.WithAttributes(attribute.String("decision", "refused"))
)

func countReason(c metric.Int64Counter, reason string) {
	c.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
}

// method returns the attributes of procedure's streams. The method label
// has the form of otelconnect's rpc.method, so the two join.
func (m *Metrics) method(procedure string) metric.MeasurementOption {
	if set, ok := m.methods.Load(procedure); ok {
		return set.(metric.MeasurementOption)
	}
	set := metric.WithAttributeSet(attribute.NewSet(
		attribute.String("rpc.method", strings.TrimPrefix(procedure, "/"))))
	m.methods.Store(procedure, set)
	return set
}
