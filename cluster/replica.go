package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// The health checks that HAProxy makes, and that a replica must pass before
// its start counts as done: grpc.health.v1 Check over the Connect protocol
// with JSON, which is plain HTTP. The answer's status must be exactly
// SERVING: a substring match would also accept NOT_SERVING. (protojson may
// put a space after the colon.)
const (
	healthPath    = "/grpc.health.v1.Health/Check"
	healthServing = `^\{"status": *"SERVING"\}$`
)

// healthRequest is the body of a health check of service.
func healthRequest(service string) string {
	return fmt.Sprintf(`{"service":%q}`, service)
}

var healthServingRE = regexp.MustCompile(healthServing)

// newReplica returns the process of a routeguide-server replica on addr,
// with its admin listener on adminAddr and its notes in NATS at natsURLs.
func (c *Cluster) newReplica(name, addr, adminAddr string, natsURLs []string, bin string, extraArgs []string) *Process {
	args := []string{
		"--addr", addr,
		"--admin-addr", adminAddr,
		"--notes", strings.Join(natsURLs, ","),
		// Every note on every node (R3): the notes outlive any one node.
		"--notes-replicas", strconv.Itoa(len(natsURLs)),
	}
	args = append(args, extraArgs...)
	return c.newProcess(name, addr, adminAddr, bin, args, func(ctx context.Context) error {
		return poll(ctx, func(ctx context.Context) error {
			for _, b := range haproxyBackends {
				if err := checkServing(ctx, "http://"+addr, b.HealthRequest); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// checkServing makes a health check HAProxy makes, over HTTP/1.1.
func checkServing(ctx context.Context, baseURL, request string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+healthPath, strings.NewReader(request))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 4096))
	if err != nil {
		return err
	}
	if !healthServingRE.Match(body) {
		return fmt.Errorf("health check %s: %s %s", request, res.Status, body)
	}
	return nil
}
