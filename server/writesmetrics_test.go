package server_test

import (
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
)

// TestWriteRefusalsCounted: refused tokens are counted by their reason, and
// refused deletes by theirs.
func TestWriteRefusalsCounted(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	reader := sdkmetric.NewManualReader()
	ts := routeguidetest.NewRouteGuide(t, testFeatures, iss.identityOption(t, server.WritesSignedIn),
		server.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	expired := iss.claims("alice", "Alice")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	for _, token := range []string{"", "", iss.sign(t, expired)} {
		_, err := postNote(t.Context(), ts.URL, token, "hi", 1)
		wantCode(t, err, connect.CodeUnauthenticated, "")
	}
	rm := collect(t, reader)
	for reason, want := range map[string]int64{"missing": 2, "expired": 1} {
		if got := int64Point(t, rm, "routeguide.auth.refused", attribute.String("reason", reason)); got != want {
			t.Errorf("routeguide.auth.refused{reason=%q} = %d, want %d", reason, got, want)
		}
	}
}
