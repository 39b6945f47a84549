// Package cluster runs RouteGuide as a cluster on one machine: a
// three-node NATS JetStream cluster holding the notes and the write
// budgets, routeguide-server replicas sharing them, the development OpenID
// provider whose users sign in to write, and HAProxy in front as the L7
// balancer, each a real process on loopback. The routeguide-cluster command
// runs one for people to try; tests start one to kill parts of it.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config says what cluster to start. Only Binaries is required.
type Config struct {
	// Binaries are the programs to run; see [Build].
	Binaries Binaries
	// Dir holds each program's configuration and log file and the NATS
	// nodes' storage. The default is a new temporary directory, which
	// Close removes.
	Dir string
	// Addr is HAProxy's address for clients. The default, and port 0, is
	// a free loopback port.
	Addr string
	// StatsAddr is the address of HAProxy's statistics page. The default,
	// and port 0, is a free loopback port.
	StatsAddr string
	// IDPAddr is the address of the OpenID provider, run when
	// Binaries.IDP is set; it is also the issuer's, which the provider's
	// tokens name. The default, and port 0, is a free loopback port.
	IDPAddr string
	// WritesAnyone lets callers without a token post notes. The default,
	// with an OpenID provider, is that only its signed-in users may;
	// without one, anyone may.
	WritesAnyone bool
	// Replicas is the number of routeguide-server replicas; the default is
	// 3.
	Replicas int
	// ServerArgs are flags added to each replica's command line, after the
	// cluster's own.
	ServerArgs []string
	// Logger hears of every start and exit of a process. The default
	// discards them.
	Logger *slog.Logger
}

// natsNodes is the size of the NATS cluster: three nodes keep the notes,
// stored with three replicas, available while any one of them is down.
const natsNodes = 3

// Cluster is a running cluster. The caller must call Close when finished.
type Cluster struct {
	dir       string
	removeDir bool
	logger    *slog.Logger
	statsAddr string
	nats      []*Process
	idp       *Process // nil without Binaries.IDP
	idpBin    string
	replicas  []*Process
	haproxy   *Process
}

// Start starts a cluster and returns once HAProxy sees every replica
// healthy, or with an error, having stopped what it started, when any part
// fails to start before ctx is done. It starts nothing when Addr,
// StatsAddr or IDPAddr is in use, and says by whom (see [CheckPorts]).
//
// A port the cluster chose can be taken by another program before the
// process it was chosen for binds it; Start then stops what it started and
// starts again on other ports, up to [startAttempts] times in all.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := CheckPorts(cfg.Addr, cfg.StatsAddr, cfg.IDPAddr); err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	for attempt := 1; ; attempt++ {
		c, err := start(ctx, cfg)
		if err == nil || !errors.Is(err, ErrPortTaken) || attempt == startAttempts || ctx.Err() != nil {
			return c, err
		}
		if cfg.Logger != nil {
			cfg.Logger.Warn("a port was taken as the cluster started; starting again on other ports", "error", err)
		}
	}
}

// startAttempts is how many times [Start] tries when a port it chose is
// taken: once is rare, so twice in a row says something is wrong.
const startAttempts = 3

func start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	if cfg.Binaries.Server == "" || cfg.Binaries.NATS == "" || cfg.Binaries.HAProxy == "" {
		return nil, errors.New("start cluster: Binaries.Server, NATS and HAProxy are required")
	}
	replicas := cfg.Replicas
	if replicas == 0 {
		replicas = 3
	}
	if replicas < 1 {
		return nil, fmt.Errorf("start cluster: %d replicas", replicas)
	}
	c := &Cluster{dir: cfg.Dir, logger: cfg.Logger}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "routeguide-cluster-"); err != nil {
			return nil, fmt.Errorf("start cluster: %w", err)
		}
		c.removeDir = true
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("start cluster: %w", err), c.Close())
		}
	}()

	ports, err := freePorts(3*natsNodes + 2*replicas + 3)
	if err != nil {
		return nil, err
	}
	take := func() string { p := ports[0]; ports = ports[1:]; return p }
	// HAProxy could take port 0 itself, but would not say which it got.
	addr, statsAddr := cfg.Addr, cfg.StatsAddr
	if addr == "" || strings.HasSuffix(addr, ":0") {
		addr = take()
	}
	if statsAddr == "" || strings.HasSuffix(statsAddr, ":0") {
		statsAddr = take()
	}
	idpAddr := cfg.IDPAddr
	if idpAddr == "" || strings.HasSuffix(idpAddr, ":0") {
		idpAddr = take()
	}

	nodes := make([]natsNode, natsNodes)
	for i := range nodes {
		nodes[i] = natsNode{name: fmt.Sprintf("nats-%d", i+1), client: take(), cluster: take(), monitor: take()}
	}
	var natsURLs []string
	for _, node := range nodes {
		p, err := c.newNATSNode(node, nodes, cfg.Binaries.NATS)
		if err != nil {
			return nil, err
		}
		c.nats = append(c.nats, p)
		natsURLs = append(natsURLs, "nats://"+node.client)
	}
	first := c.nats
	// The replicas look the issuer up as they start: it must be up first.
	if cfg.Binaries.IDP != "" {
		c.idp, c.idpBin = c.newIDP(idpAddr, addr, cfg.Binaries.IDP), cfg.Binaries.IDP
		first = append(slices.Clip(first), c.idp)
	}
	// Together: a node is ready only once the cluster has a meta leader,
	// which takes a majority of the nodes.
	if err := startAll(ctx, first); err != nil {
		return nil, err
	}

	// HAProxy, trusted, gives each replica its clients' addresses in a
	// PROXY protocol v2 header: the write budgets of anonymous callers are
	// counted by them, not by HAProxy's.
	serverArgs := []string{"--trusted-proxies", "127.0.0.1/32"}
	if c.idp != nil {
		serverArgs = append(serverArgs, identityArgs(c.Issuer(), cfg.WritesAnyone)...)
	}
	serverArgs = append(serverArgs, cfg.ServerArgs...)

	for i := range replicas {
		name := fmt.Sprintf("routeguide-%d", i+1)
		c.replicas = append(c.replicas, c.newReplica(name, take(), take(), natsURLs, cfg.Binaries.Server, serverArgs))
	}
	// One replica first: it creates the notes stream, which the others then
	// find ready, rather than racing it while the NATS nodes set it up.
	if err := c.replicas[0].Start(ctx); err != nil {
		return nil, err
	}
	if err := startAll(ctx, c.replicas[1:]); err != nil {
		return nil, err
	}

	if c.haproxy, err = c.newHAProxy(addr, statsAddr, cfg.Binaries.HAProxy); err != nil {
		return nil, err
	}
	if err := c.haproxy.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Addr returns HAProxy's address for clients, host:port: HTTP/1.1 and
// HTTP/2 without TLS.
func (c *Cluster) Addr() string { return c.haproxy.Addr() }

// StatsURL returns the URL of HAProxy's statistics page.
func (c *Cluster) StatsURL() string { return "http://" + c.statsAddr + "/" }

// Dir returns the directory of the configuration files, logs and storage.
func (c *Cluster) Dir() string { return c.dir }

// NATS returns the NATS nodes.
func (c *Cluster) NATS() []*Process { return c.nats }

// Replicas returns the routeguide-server replicas, in HAProxy's order.
func (c *Cluster) Replicas() []*Process { return c.replicas }

// HAProxy returns the balancer.
func (c *Cluster) HAProxy() *Process { return c.haproxy }

// Processes returns every process, in the order they start.
func (c *Cluster) Processes() []*Process {
	all := append([]*Process(nil), c.nats...)
	if c.idp != nil {
		all = append(all, c.idp)
	}
	all = append(all, c.replicas...)
	if c.haproxy != nil {
		all = append(all, c.haproxy)
	}
	return all
}

// Close stops the cluster from the front: HAProxy, which finishes the calls
// in progress for up to 5 seconds, then the replicas, which drain, then the
// NATS nodes and the OpenID provider. A process still there 15 seconds
// after it was asked to stop is killed. Close removes the directory if
// Start made it.
func (c *Cluster) Close() error {
	ctx := context.Background()
	if c.haproxy != nil {
		c.haproxy.Stop(ctx)
	}
	stopAll(ctx, c.replicas)
	last := c.nats
	if c.idp != nil {
		last = append(slices.Clip(last), c.idp)
	}
	stopAll(ctx, last)
	if c.removeDir {
		return os.RemoveAll(c.dir)
	}
	return nil
}

// newProcess returns a process that logs to a file named after it.
func (c *Cluster) newProcess(name, addr, monitor, bin string, args []string, ready func(context.Context) error) *Process {
	return &Process{
		name:    name,
		addr:    addr,
		monitor: monitor,
		path:    bin,
		args:    args,
		log:     filepath.Join(c.dir, name+".log"),
		ready:   ready,
		logger:  c.logger,
	}
}

func startAll(ctx context.Context, ps []*Process) error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { errs[i] = p.Start(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func stopAll(ctx context.Context, ps []*Process) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() { p.Stop(ctx) })
	}
	wg.Wait()
}

// poll calls check until it succeeds or ctx is done, and then returns the
// last error with ctx's.
func poll(ctx context.Context, check func(context.Context) error) error {
	const interval = 50 * time.Millisecond
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}
