package cluster

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
)

// haproxyTemplate is HAProxy's configuration: an L7 balancer that accepts
// HTTP/1.1 and HTTP/2 without TLS (h2c, detected by its preface) on one
// port and speaks HTTP/2 to every replica. HAProxy balances each HTTP/2
// stream on its own, so the calls of one client connection spread over the
// replicas, as gRPC clients expect of an L7 balancer.
//
// Every replica is in two backends, told apart by the health service they
// check: RouteChat and the notes service go only to replicas that reach the
// notes store, the other methods to any replica that serves RouteGuide. So a
// replica cut off from NATS still serves GetFeature, and no note goes where
// it would fail.
var haproxyTemplate = template.Must(template.New("haproxy.cfg").Parse(`# Written by routeguide-cluster; rewritten at every start.
global
    log stdout format raw local0 info
    # Stopping (SIGUSR1) lets calls in progress finish, for this long.
    hard-stop-after 5s

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout http-request 10s
    # RouteChat and WatchNotes streams may stay quiet for a long time; the
    # replicas have their own limits on idle and slow clients.
    timeout client 1h
    timeout server 1h
    # A call sent to a replica that has just died, before the health checks
    # see it, goes to another once the connection is refused.
    retries 2
    option redispatch 1

frontend routeguide
    bind {{.Addr}}
    # The replicas learn each client's address from the PROXY header sent
    # with every connection (send-proxy-v2 below), and would also believe
    # an X-Forwarded-For sent from an address they trust: nobody may send
    # one through here.
    http-request del-header x-forwarded-for
    acl notes path_beg /routeguide.notes.v1.NotesService/
    acl notes path /routeguide.RouteGuide/RouteChat
    # With no replica able to reach the notes store, a call for notes gets
    # unavailable in its own protocol's terms rather than HAProxy's HTML
    # page (which clients also take for unavailable, without the reason):
    # gRPC and gRPC-Web in headers alone, Connect unary calls in JSON.
    acl no_notes nbsrv(notes) eq 0
    acl grpc req.hdr(content-type) -m beg application/grpc
    acl connect_unary req.hdr(content-type) -m beg application/json application/proto
    http-request set-var(txn.grpc_content_type) req.hdr(content-type) if notes no_notes grpc
    http-request return status 200 hdr grpc-status 14 hdr grpc-message "{{.NoNotes}}" if notes no_notes grpc
    http-request return status 503 content-type application/json string '{"code":"unavailable","message":"{{.NoNotes}}"}' if notes no_notes connect_unary
    # A response without a body loses the content type given to return.
    http-after-response set-header content-type %[var(txn.grpc_content_type)] if { var(txn.grpc_content_type) -m found }
    use_backend notes if notes
    default_backend routeguide
{{range .Backends}}
backend {{.Name}}
    balance roundrobin
    # Says which replica answered, for people watching the balancing.
    http-response set-header x-routeguide-replica %[srv_name]
    option httpchk
    # A connect rule of its own sends no PROXY header unless told to; so
    # told, a check reaches a replica as every call does.
    http-check connect proto h2 send-proxy
    http-check send meth POST uri {{$.HealthPath}} hdr content-type application/json body '{{.HealthRequest}}'
    http-check expect rstring '{{$.HealthServing}}'
    # send-proxy-v2: every connection to a replica opens with a PROXY
    # protocol v2 header naming HAProxy's client (a health check's says
    # LOCAL: HAProxy's own).
    default-server proto h2 check inter 500ms fall 2 rise 2 send-proxy-v2
{{- range $.Replicas}}
    server {{.Name}} {{.Addr}}
{{- end}}
{{end}}
listen stats
    bind {{.StatsAddr}}
    http-request set-log-level silent
    stats enable
    stats uri /
    stats refresh 2s
`))

// noNotesMessage is the message of the unavailable error HAProxy answers
// for notes when no replica reaches the notes store.
const noNotesMessage = "no replica can reach the notes store: try again shortly"

// haproxyBackend is a backend of HAProxy's configuration.
type haproxyBackend struct {
	Name          string
	HealthRequest string // what its health check sends
}

var haproxyBackends = []haproxyBackend{
	{"routeguide", healthRequest(routeguideconnect.RouteGuideName)},
	{"notes", healthRequest(notesv1connect.NotesServiceName)},
}

// newHAProxy writes HAProxy's configuration and returns its process, ready
// when every replica is UP in every backend.
func (c *Cluster) newHAProxy(addr, statsAddr, bin string) (*Process, error) {
	var config bytes.Buffer
	err := haproxyTemplate.Execute(&config, struct {
		Addr, StatsAddr, HealthPath, HealthServing, NoNotes string
		Backends                                            []haproxyBackend
		Replicas                                            []*Process
	}{
		Addr:          addr,
		StatsAddr:     statsAddr,
		HealthPath:    healthPath,
		HealthServing: healthServing,
		NoNotes:       noNotesMessage,
		Backends:      haproxyBackends,
		Replicas:      c.replicas,
	})
	if err != nil {
		return nil, err
	}
	configFile := filepath.Join(c.dir, "haproxy.cfg")
	if err := os.WriteFile(configFile, config.Bytes(), 0o644); err != nil {
		return nil, err
	}
	c.statsAddr = statsAddr
	// -db: stay in the foreground, under the supervisor.
	p := c.newProcess("haproxy", addr, statsAddr, bin, []string{"-db", "-f", configFile}, func(ctx context.Context) error {
		return poll(ctx, func(ctx context.Context) error {
			backends, err := c.Backends(ctx)
			if err != nil {
				return err
			}
			for name, b := range backends {
				// A server counts as UP before its first check.
				if b.Status != "UP" || b.Check != "L7OK" {
					return fmt.Errorf("%s is %s, check %s", name, b.Status, b.Check)
				}
			}
			return nil
		})
	})
	p.stopSignal = haproxyStop
	return p, nil
}

// Backend is what HAProxy makes of one replica.
type Backend struct {
	// Status is "UP", "DOWN", or a state on the way from one to the other,
	// such as "UP 1/2": up, with one failed check of the two that take it
	// down.
	Status string
	// Check is the result of the last health check: "L7OK" when it
	// passed, "L7RSP" for an answer other than SERVING, "L4CON" when the
	// connection failed, "INI" before the first.
	Check string
}

// Backends returns what HAProxy makes of each replica in each backend, by
// backend and replica name: "routeguide/routeguide-1" is the first replica
// as a server of every method but RouteChat and the notes service, which
// "notes/routeguide-1" serves.
func (c *Cluster) Backends(ctx context.Context) (map[string]Backend, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.statsAddr+"/;csv", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HAProxy stats: %s", res.Status)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return parseStats(body)
}

// parseStats reads HAProxy's CSV statistics: a header line starting "# "
// naming the columns, then a line for each frontend, server and backend.
func parseStats(body []byte) (map[string]Backend, error) {
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("# ")))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("HAProxy stats: %w", err)
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("HAProxy stats: empty")
	}
	header := records[0]
	column := func(name string) int { return slices.Index(header, name) }
	pxname, svname, status, check := column("pxname"), column("svname"), column("status"), column("check_status")
	if pxname < 0 || svname < 0 || status < 0 || check < 0 {
		return nil, fmt.Errorf("HAProxy stats: no pxname, svname, status or check_status in %q", strings.Join(header, ","))
	}
	servers := make(map[string]Backend)
	for _, r := range records[1:] {
		// Skip the frontend and the backend's own line, and the statistics
		// page's, which have no check.
		if r[svname] != "FRONTEND" && r[svname] != "BACKEND" && r[pxname] != "stats" {
			servers[r[pxname]+"/"+r[svname]] = Backend{Status: r[status], Check: r[check]}
		}
	}
	return servers, nil
}
