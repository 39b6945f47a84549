package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/routeguide/routeguide/cluster"
)

// faultKinds are the faults the nemesis injects, by the name -faults takes:
// kill is SIGKILL and a start again after a pause, stop is SIGSTOP and
// SIGCONT after a pause.
var faultKinds = []string{"kill", "stop"}

// parseFaults parses -faults: a comma-separated list of faultKinds.
func parseFaults(s string) ([]string, error) {
	var kinds []string
	for k := range strings.SplitSeq(s, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(faultKinds, k) {
			return nil, fmt.Errorf("unknown fault %q: want kill, stop or kill,stop", k)
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

// faultTargets are the roles of the processes the nemesis may fault, by
// the name -targets takes.
var faultTargets = []string{"nats", "replica"}

// parseTargets parses -targets: a comma-separated list of faultTargets.
func parseTargets(s string) ([]string, error) {
	var roles []string
	for r := range strings.SplitSeq(s, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(faultTargets, r) {
			return nil, fmt.Errorf("unknown target %q: want nats, replica or nats,replica", r)
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	return roles, nil
}

// fault is one fault the nemesis injected.
type fault struct {
	kind   string
	target string
	role   string        // "nats" or "replica"
	at     time.Duration // since the run began
	pause  time.Duration // how long the target was down or stopped
	healed time.Duration // since the run began; 0 if it never was
	err    error         // why it did not heal
}

// nemesis injects faults into a cluster at random, never more than the
// cluster survives: at most one NATS node down at once (the notes are
// stored R3), and at least one replica up.
type nemesis struct {
	kinds    []string
	targets  []string      // roles of the processes it may fault
	interval time.Duration // mean time between two faults
	maxPause time.Duration // longest a target stays down or stopped
	rng      *rand.Rand
	nats     []*cluster.Process
	replicas []*cluster.Process
	start    time.Time
	log      io.Writer

	mu     sync.Mutex // protects down and faults
	down   map[*cluster.Process]bool
	faults []*fault
	heals  sync.WaitGroup
}

// restartTimeout bounds how long a killed process may take to be ready
// again, and a stopped NATS node to be healthy again, before the fault
// counts as one the cluster did not survive.
const restartTimeout = 2 * time.Minute

// run injects faults until ctx is done, then waits for every fault to
// heal.
func (n *nemesis) run(ctx context.Context) {
	defer n.heals.Wait()
	for {
		// Uniform in [interval/2, 3·interval/2): faults now close together,
		// now far apart.
		wait := n.interval/2 + time.Duration(n.rng.Int64N(int64(n.interval)))
		if !pause(ctx, wait) {
			return
		}
		kind := n.kinds[n.rng.IntN(len(n.kinds))]
		target, role := n.pick()
		if target == nil {
			continue // the cluster could not survive one more fault now
		}
		f := &fault{kind: kind, target: target.Name(), role: role, at: time.Since(n.start),
			pause: n.maxPause/10 + time.Duration(n.rng.Int64N(int64(n.maxPause-n.maxPause/10)+1))}
		n.mu.Lock()
		n.faults = append(n.faults, f)
		n.mu.Unlock()
		n.heals.Go(func() { n.inject(f, target) })
	}
}

// pick chooses a process to fault among those the cluster can lose now,
// and marks it down; it returns nil if there is none.
func (n *nemesis) pick() (*cluster.Process, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	natsDown, replicasDown := 0, 0
	for p := range n.down {
		if slices.Contains(n.nats, p) {
			natsDown++
		} else {
			replicasDown++
		}
	}
	type candidate struct {
		p    *cluster.Process
		role string
	}
	var candidates []candidate
	if natsDown == 0 && slices.Contains(n.targets, "nats") {
		for _, p := range n.nats {
			candidates = append(candidates, candidate{p, "nats"})
		}
	}
	if replicasDown < len(n.replicas)-1 && slices.Contains(n.targets, "replica") {
		for _, p := range n.replicas {
			if !n.down[p] {
				candidates = append(candidates, candidate{p, "replica"})
			}
		}
	}
	if len(candidates) == 0 {
		return nil, ""
	}
	c := candidates[n.rng.IntN(len(candidates))]
	n.down[c.p] = true
	return c.p, c.role
}

// inject plays f on p and heals it: after a kill, p is started again; after
// a stop, continued. A NATS node counts as down until it is healthy again,
// so that the next NATS fault finds all three nodes current.
func (n *nemesis) inject(f *fault, p *cluster.Process) {
	fmt.Fprintf(n.log, "fault +%v: %s %s for %v\n", f.at.Round(time.Millisecond), f.kind, f.target, f.pause.Round(time.Millisecond))
	var err error
	switch f.kind {
	case "kill":
		p.Kill()
		time.Sleep(f.pause) // the fault: the process stays down this long
		ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
		err = p.Start(ctx)
		cancel()
	case "stop":
		pid := p.PID()
		if pid == 0 {
			err = fmt.Errorf("%s is not running", p.Name())
			break
		}
		if err = stopProcess(pid); err != nil {
			break
		}
		time.Sleep(f.pause) // the fault: the process stays stopped this long
		if err = continueProcess(pid); err != nil {
			break
		}
		if f.role == "nats" {
			err = waitHealthy(p)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		// Left marked down: the nemesis spares the rest of the cluster.
		// A failed start's error ends with the process's last words.
		f.err = errors.New(lastLine(err.Error()))
		fmt.Fprintf(n.log, "fault +%v: %s %s did not heal: %v\n", f.at.Round(time.Millisecond), f.kind, f.target, f.err)
		return
	}
	f.healed = time.Since(n.start)
	delete(n.down, p)
}

// waitHealthy waits until a NATS node's /healthz answers 200: JetStream is
// current with the cluster again.
func waitHealthy(p *cluster.Process) error {
	ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	url := "http://" + p.MonitorAddr() + "/healthz"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(res.Status)
		}
		if !pause(ctx, 100*time.Millisecond) {
			return fmt.Errorf("%s not healthy after %v: %w", p.Name(), restartTimeout, err)
		}
	}
}

// snapshot returns the faults injected so far.
func (n *nemesis) snapshot() []fault {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]fault, len(n.faults))
	for i, f := range n.faults {
		out[i] = *f
	}
	return out
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
