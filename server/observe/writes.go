package observe

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// writeInstruments are the counters of who may write, and how much.
type writeInstruments struct {
	authRefused  metric.Int64Counter
	writeRefused metric.Int64Counter
}

func (w *writeInstruments) init(meter metric.Meter) error {
	var err error
	if w.authRefused, err = meter.Int64Counter("routeguide.auth.refused",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls refused for their bearer token, by reason (missing, expired, wrong-audience, ...).")); err != nil {
		return err
	}
	w.writeRefused, err = meter.Int64Counter("routeguide.writes.refused",
		metric.WithUnit("{write}"),
		metric.WithDescription("Writes refused, by reason: over_budget, not_moderator."))
	return err
}

// AuthRefused counts a call refused for its bearer token, for reason, the
// token's [identity.Reason] in its string form.
func (m *Metrics) AuthRefused(reason string) {
	if m == nil {
		return
	}
	m.writes.authRefused.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
}

// WriteRefused counts a write refused for reason, a short snake_case word
// such as "over_budget".
func (m *Metrics) WriteRefused(reason string) {
	if m == nil {
		return
	}
	m.writes.writeRefused.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
}
