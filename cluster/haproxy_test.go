package cluster

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/grpchealth"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestHealthCheckWantsServing runs HAProxy with the cluster's configuration
// in front of three real health servers: one SERVING, one NOT_SERVING,
// which a check for the substring SERVING would let through, and one that
// does not know the service. Only the first may take calls.
func TestHealthCheckWantsServing(t *testing.T) {
	t.Parallel()
	bin, err := FindHAProxy()
	if err != nil {
		t.Skip(err)
	}
	healthServer := func(status grpchealth.Status) string {
		checker := grpchealth.NewStaticChecker()
		if status != grpchealth.StatusUnknown {
			checker.SetStatus("routeguide.RouteGuide", status)
		}
		mux := http.NewServeMux()
		mux.Handle(grpchealth.NewHandler(checker))
		return routeguidetest.NewServer(t, mux).Listener.Addr().String()
	}
	c := &Cluster{dir: t.TempDir(), logger: slog.New(slog.DiscardHandler)}
	for _, r := range []struct {
		name   string
		status grpchealth.Status
	}{
		{"serving", grpchealth.StatusServing},
		{"not-serving", grpchealth.StatusNotServing},
		{"unknown-service", grpchealth.StatusUnknown},
	} {
		c.replicas = append(c.replicas, &Process{name: r.name, addr: healthServer(r.status)})
	}
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	haproxy, err := c.newHAProxy(ports[0], ports[1], bin)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Backend{
		"serving":         {Status: "UP", Check: "L7OK"},
		"not-serving":     {Status: "DOWN", Check: "L7RSP"},
		"unknown-service": {Status: "DOWN", Check: "L7RSP"},
	}
	var got map[string]Backend
	haproxy.ready = func(ctx context.Context) error {
		return poll(ctx, func(ctx context.Context) error {
			got, err = c.Backends(ctx)
			if err == nil && !cmp.Equal(got, want) {
				return errors.New("not yet")
			}
			return err
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = haproxy.Start(ctx)
	t.Cleanup(func() { haproxy.Stop(context.Background()) })
	if err != nil {
		t.Errorf("HAProxy's backends (-want +got):\n%s", cmp.Diff(want, got))
		t.Fatal(err)
	}
}
