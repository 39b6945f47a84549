package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// natsNode is where one NATS node listens.
type natsNode struct {
	name    string
	client  string // host:port for clients: the replicas
	cluster string // host:port for the routes between nodes
	monitor string // host:port of the HTTP monitoring endpoint, for /healthz
}

// natsConfig is the configuration file of node among nodes: JetStream with
// file storage under storeDir, routes to every other node.
func natsConfig(node natsNode, nodes []natsNode, storeDir string) string {
	var routes []string
	for _, other := range nodes {
		if other.name != node.name {
			routes = append(routes, fmt.Sprintf("nats://%s", other.cluster))
		}
	}
	// JSON is valid NATS configuration, and quoting with %q keeps a
	// temporary directory's odd characters out of the syntax.
	return fmt.Sprintf(`# Written by routeguide-cluster; rewritten at every start.
server_name: %q
listen: %q
http: %q
jetstream {
  store_dir: %q
}
cluster {
  name: "routeguide"
  listen: %q
  routes: [%s]
}
`, node.name, node.client, node.monitor, storeDir, node.cluster, quoteAll(routes))
}

func quoteAll(ss []string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(quoted, ", ")
}

// newNATSNode writes the node's configuration under dir and returns its
// process, ready once /healthz answers ok: JetStream is up and the node is
// current with the cluster's meta leader.
func (c *Cluster) newNATSNode(node natsNode, nodes []natsNode, bin string) (*Process, error) {
	storeDir := filepath.Join(c.dir, node.name)
	if err := os.MkdirAll(storeDir, 0o755); err != nil {
		return nil, err
	}
	configFile := filepath.Join(c.dir, node.name+".conf")
	if err := os.WriteFile(configFile, []byte(natsConfig(node, nodes, storeDir)), 0o644); err != nil {
		return nil, err
	}
	healthz := "http://" + node.monitor + "/healthz"
	return c.newProcess(node.name, node.client, node.monitor, bin, []string{"--config", configFile}, func(ctx context.Context) error {
		return poll(ctx, func(ctx context.Context) error { return httpOK(ctx, healthz) })
	}), nil
}

// httpOK reports an error unless a GET of url answers 200.
func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return nil
}
