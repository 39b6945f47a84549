package cluster_test

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/cluster"
	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/budget"
)

// measureBudgetEnv names the environment variable that makes
// TestBudgetAcrossReplicas flood for the minute with 16 calls in
// flight; CI sets it in a step of its own. Without it the test floods
// briefly and gently, so that the README's test command checks one budget
// across the replicas without a minute's load beside every other package.
const measureBudgetEnv = "ROUTEGUIDE_MEASURE_BUDGET"

// budgetFlood is how TestBudgetAcrossReplicas floods: for how long, over
// how many HTTP/2 connections to HAProxy, with how many calls in flight on
// each.
type budgetFlood struct {
	length             time.Duration
	connections, calls int
}

// budgetFloodFor returns the minute's flood if measureBudgetEnv is set,
// else the short one: 15 s, in which one budget is 60 + 7.5 notes and
// three would be 202.5.
func budgetFloodFor() budgetFlood {
	if os.Getenv(measureBudgetEnv) != "" {
		return budgetFlood{length: time.Minute, connections: 4, calls: 4}
	}
	return budgetFlood{length: 15 * time.Second, connections: 2, calls: 2}
}

// TestBudgetAcrossReplicas measures the write budget of one signed-in
// client through the cluster as `task cluster` runs it: bob posts through
// HAProxy as fast as it answers for a minute (15 s unless measureBudgetEnv
// says otherwise: see budgetFloodFor), over several connections,
// and HAProxy spreads the calls over the three replicas. The notes the
// shared budget accepted must be within 20% of one budget (burst plus rate
// for the time), not three, and every replica must have taken part: in
// accepting, and in refusing, as its own metrics say. A write a replica
// checked alone, because the bucket did not answer within its second (a
// busy CI machine has stalled NATS so), is not the shared budget's: such
// writes are counted apart, and each replica's must stay within a budget.
func TestBudgetAcrossReplicas(t *testing.T) {
	t.Parallel()
	flood := budgetFloodFor()
	c := startCluster(t, cluster.Config{})
	ctx := t.Context()
	token, err := c.Token(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}

	type tally struct{ accepted, refused int }
	var (
		mu        sync.Mutex // protects byReplica and others
		byReplica = make(map[string]*tally)
		others    []error
	)
	record := func(replica string, err error) {
		mu.Lock()
		defer mu.Unlock()
		n := byReplica[replica]
		if n == nil {
			n = new(tally)
			byReplica[replica] = n
		}
		switch {
		case err == nil:
			n.accepted++
		case connect.CodeOf(err) == connect.CodeResourceExhausted:
			n.refused++
		default:
			if len(others) < 10 {
				others = append(others, fmt.Errorf("%s: %w", replica, err))
			}
		}
	}

	note := &notesv1.PostNoteRequest{Note: &routeguide.RouteNote{
		Location: &routeguide.Point{Latitude: 407838351, Longitude: -746143763}, Message: "flood"}}
	start := time.Now()
	// No call is cut off at the end, whose note might be stored unseen:
	// each goroutine starts no call past the end, and waits for its last.
	end := start.Add(flood.length)
	var wg sync.WaitGroup
	for range flood.connections {
		h2c := routeguidetest.H2CClient() // a connection of its own
		t.Cleanup(h2c.CloseIdleConnections)
		// The Connect protocol, as measured before HAProxy 2.6's loss of
		// gRPC refusals' trailers was fixed (docs/scaling.md).
		client := notesv1connect.NewNotesServiceClient(connect.NewClient(
			connecthttp.NewTransport(withBearer(h2c, token), "http://"+c.Addr())))
		for range flood.calls {
			wg.Go(func() {
				for time.Now().Before(end) {
					callCtx, info := connect.NewClientContext(ctx)
					_, err := client.PostNote(callCtx, note)
					record(info.ResponseHeader().Get("X-Routeguide-Replica"), err)
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	if len(others) > 0 {
		t.Errorf("calls failed other than for the budget: %v", others)
	}
	policy := budget.Policy{Rate: budget.DefaultRate, Burst: budget.DefaultBurst}
	expected := float64(policy.Burst) + float64(policy.Rate)*elapsed.Minutes()
	var accepted, refused, unshared, unsharedAllowed int
	var split []string
	for _, p := range c.Replicas() {
		n := byReplica[p.Name()]
		if n == nil {
			n = new(tally)
		}
		accepted += n.accepted
		refused += n.refused
		m := replicaMetrics(t, p)
		split = append(split, fmt.Sprintf("%s %d/%d (alone %d/%d)", p.Name(), n.accepted, n.refused, m.unsharedAllowed, m.unsharedRefused))
		unsharedAllowed += m.unsharedAllowed
		unshared += m.unsharedAllowed + m.unsharedRefused
		if float64(m.unsharedAllowed) > expected {
			t.Errorf("%s allowed %d writes alone, more than a budget, %.0f", p.Name(), m.unsharedAllowed, expected)
		}
		if n.accepted == 0 || n.refused == 0 {
			t.Errorf("%s accepted %d and refused %d: HAProxy did not spread the flood", p.Name(), n.accepted, n.refused)
		}
		if m.overBudget != n.refused || m.posted != n.accepted {
			t.Errorf("%s counts %d notes posted and %d refused over budget, the client saw %d and %d",
				p.Name(), m.posted, m.overBudget, n.accepted, n.refused)
		}
	}
	t.Logf("one client, %d connections × %d calls in flight, %v: accepted %d of %d (%.0f calls/s), expected %.1f (burst %d + %d/min); accepted/refused (and of them checked alone, allowed/refused) by replica: %s",
		flood.connections, flood.calls, elapsed.Round(time.Millisecond), accepted, accepted+refused,
		float64(accepted+refused)/elapsed.Seconds(), expected, policy.Burst, policy.Rate, strings.Join(split, ", "))
	if unshared > 0 {
		// The replicas say why, at most once every 10 s each.
		for _, p := range c.Replicas() {
			for _, line := range logLines(t, p, "write budgets not shared") {
				t.Logf("%s: %s", p.Name(), line)
			}
		}
		t.Logf("the flood ran from %s to %s", start.UTC().Format("15:04:05.000"), start.Add(elapsed).UTC().Format("15:04:05.000"))
	}
	// A write a replica allowed alone, because the bucket did not answer
	// in time, was not charged to the shared budget: the shared budget is
	// what the others measure.
	if shared := accepted - unsharedAllowed; math.Abs(float64(shared)-expected) > 0.2*expected {
		t.Errorf("accepted %d notes in %v, %d of them by the shared budget, want within 20%% of %.1f: one budget across the replicas",
			accepted, elapsed, shared, expected)
	}
}

// writeMetrics are what a replica's metrics say of the notes posted to it.
type writeMetrics struct {
	posted     int // PostNote calls that succeeded
	overBudget int // writes refused over budget, or crowded out of its count
	// writes whose budget the replica checked alone, by decision
	unsharedAllowed, unsharedRefused int
}

// replicaMetrics reads the replica's writeMetrics from its admin
// listener's /metrics.
func replicaMetrics(t *testing.T, p *cluster.Process) writeMetrics {
	t.Helper()
	url := "http://" + p.MonitorAddr() + "/metrics"
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m writeMetrics
	for s := bufio.NewScanner(res.Body); s.Scan(); {
		line := s.Text()
		var into *int
		switch {
		case strings.HasPrefix(line, "routeguide_writes_refused_total{") &&
			(strings.Contains(line, `reason="over_budget"`) || strings.Contains(line, `reason="crowded"`)):
			into = &m.overBudget
		case strings.HasPrefix(line, "routeguide_writes_budget_unshared_total{") && strings.Contains(line, `decision="allowed"`):
			into = &m.unsharedAllowed
		case strings.HasPrefix(line, "routeguide_writes_budget_unshared_total{") && strings.Contains(line, `decision="refused"`):
			into = &m.unsharedRefused
		case strings.HasPrefix(line, "rpc_server_call_duration_seconds_count{") &&
			strings.Contains(line, `rpc_method="routeguide.notes.v1.NotesService/PostNote"`) &&
			strings.Contains(line, `rpc_response_status_code="OK"`):
			into = &m.posted
		default:
			continue
		}
		fields := strings.Fields(line)
		n, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("GET %s: %q: %v", url, line, err)
		}
		*into += int(n)
	}
	return m
}

// logLines returns the lines of p's log that contain substr.
func logLines(t *testing.T, p *cluster.Process, substr string) []string {
	t.Helper()
	f, err := os.Open(p.LogFile())
	if err != nil {
		t.Error(err)
		return nil
	}
	defer f.Close()
	var lines []string
	for s := bufio.NewScanner(f); s.Scan(); {
		if strings.Contains(s.Text(), substr) {
			lines = append(lines, s.Text())
		}
	}
	return lines
}
