// Package natstest runs real NATS servers with JetStream inside a test
// process, on loopback ports the kernel picks: one node, or a cluster of
// them, each of which a test may stop and start again; and single nodes
// that demand what a production NATS may, TLS or credentials.
package natstest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Node is one NATS server with JetStream, its data in a directory of the
// test's.
type Node struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// Options adjust a node before it starts.
type Options func(*server.Options)

// Start runs one NATS server with JetStream on 127.0.0.1 and stops it when
// the test ends.
func Start(t testing.TB, options ...Options) *Node {
	t.Helper()
	opts := baseOptions(t, "n1")
	for _, o := range options {
		o(&opts)
	}
	n := &Node{t: t, opts: opts}
	n.start()
	t.Cleanup(n.Stop)
	return n
}

func baseOptions(t testing.TB, name string) server.Options {
	return server.Options{
		ServerName: name,
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		// Small enough for any test machine, large enough for any test.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
	}
}

func (n *Node) start() {
	n.t.Helper()
	opts := n.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		n.t.Fatalf("start NATS %s: %v", n.opts.ServerName, err)
	}
	srv.Start()
	// Generous: many tests start clusters at once on a loaded CI machine.
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		n.t.Fatalf("NATS %s not ready in 30s", n.opts.ServerName)
	}
	// Keep the port, so that a restart is found where clients look.
	n.opts.Port = srv.Addr().(*net.TCPAddr).Port
	n.srv = srv
}

// URL is where clients connect to the node: a tls:// URL if the node
// accepts only TLS clients.
func (n *Node) URL() string {
	scheme := "nats"
	if n.opts.TLS {
		scheme = "tls"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, n.opts.Port)
}

// Server is the running server, nil while the node is stopped.
func (n *Node) Server() *server.Server {
	return n.srv
}

// Stop shuts the node down, as a kill would, but waits until it is down.
func (n *Node) Stop() {
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// Restart starts a stopped node again on the same port with the same data.
func (n *Node) Restart() {
	n.t.Helper()
	if n.srv != nil {
		n.t.Fatal("restart a running node")
	}
	n.start()
}

// Cluster is nodes of one JetStream cluster.
type Cluster []*Node

// StartCluster runs a JetStream cluster of size nodes on loopback and waits
// until it has a leader that sees them all; it stops them when the test
// ends.
func StartCluster(t testing.TB, size int, options ...Options) Cluster {
	t.Helper()
	ports := freePorts(t, size)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	c := make(Cluster, size)
	for i := range size {
		opts := baseOptions(t, fmt.Sprintf("n%d", i+1))
		opts.Cluster = server.ClusterOpts{Name: "routeguide", Host: "127.0.0.1", Port: ports[i]}
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		for _, o := range options {
			o(&opts)
		}
		c[i] = &Node{t: t, opts: opts}
		c[i].start()
		t.Cleanup(c[i].Stop)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !c.ready() {
		if time.Now().After(deadline) {
			t.Fatal("NATS cluster has no JetStream leader seeing every node after 20s")
		}
		time.Sleep(25 * time.Millisecond)
	}
	return c
}

// URLs is the client URLs of every node, comma-separated.
func (c Cluster) URLs() string {
	urls := make([]string, len(c))
	for i, n := range c {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// ready reports whether the cluster has a JetStream leader that counts
// every node started as an online peer: a leader alone can still refuse
// to place a stream on three of them ("no suitable peers for placement,
// peer offline"), as a CI run did.
func (c Cluster) ready() bool {
	started, online := 0, 0
	for _, n := range c {
		if n.srv == nil {
			continue
		}
		started++
		if !n.srv.JetStreamIsCurrent() {
			return false
		}
		if n.srv.JetStreamIsLeader() {
			online = len(n.srv.JetStreamClusterPeers())
		}
	}
	return online == started
}

// freePorts finds ports free on loopback now; the nodes' routes must be
// known before any node starts.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var listeners []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range listeners {
		l.Close()
	}
	return ports
}
