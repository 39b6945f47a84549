package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
)

// h2loadLoad describes an h2load run: one prebuilt request body posted
// over and over.
type h2loadLoad struct {
	path        string
	contentType string
	headers     []string
	body        []byte
	conns       int
	streams     int
	perResponse float64 // operations a response counts for, e.g. its messages
}

var h2loadSummary = regexp.MustCompile(`requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed`)

// runH2load drives the server at url for d and reports operations a second
// and the latency of each request, from h2load's per-request log.
func runH2load(ctx context.Context, dir, url string, l h2loadLoad, d time.Duration) (float64, sample, error) {
	bodyFile := filepath.Join(dir, "body.bin")
	logFile := filepath.Join(dir, "h2load.log")
	if err := os.WriteFile(bodyFile, l.body, 0o644); err != nil {
		return 0, sample{}, err
	}
	args := []string{
		"-c", strconv.Itoa(l.conns), "-m", strconv.Itoa(l.streams),
		"-D", strconv.Itoa(int(d.Seconds())), "-d", bodyFile, "--log-file", logFile,
		"-H", "content-type: " + l.contentType,
	}
	for _, h := range l.headers {
		args = append(args, "-H", h)
	}
	out, err := exec.CommandContext(ctx, "h2load", append(args, url+l.path)...).CombinedOutput()
	if err != nil {
		return 0, sample{}, fmt.Errorf("h2load: %w\n%s", err, out)
	}
	m := h2loadSummary.FindSubmatch(out)
	if m == nil {
		return 0, sample{}, fmt.Errorf("h2load: no summary in\n%s", out)
	}
	succeeded, _ := strconv.ParseFloat(string(m[3]), 64)
	if failed, _ := strconv.Atoi(string(m[4])); failed > 0 || succeeded == 0 {
		return 0, sample{}, fmt.Errorf("h2load: %s succeeded, %s failed\n%s", m[3], m[4], out)
	}
	latencies, err := readH2loadLog(logFile)
	if err != nil {
		return 0, sample{}, err
	}
	ops := succeeded * l.perResponse
	s := sample{rate: ops / d.Seconds()}
	s.p50, s.p99 = percentiles(latencies)
	return ops, s, nil
}

func readH2loadLog(path string) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var latencies []time.Duration
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Split(scanner.Text(), "\t")
		if len(fields) < 3 {
			continue
		}
		us, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("h2load log: %w", err)
		}
		latencies = append(latencies, time.Duration(us)*time.Microsecond)
	}
	return latencies, scanner.Err()
}

// grpcBody is a message in the gRPC and gRPC-Web envelope; connectBody
// marks it as the Connect protocol's streaming envelope does, which is the
// same for a request.
func grpcBody(m proto.Message) []byte {
	data, err := proto.Marshal(m)
	if err != nil {
		panic(err) // the messages are built by the harness
	}
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(data))), data...)
}

func rawBody(m proto.Message) []byte {
	data, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return data
}

// protocolLoad returns the h2load request for a procedure in a protocol.
func protocolLoad(protocol, procedure string, m proto.Message, unary bool) h2loadLoad {
	switch protocol {
	case "grpc":
		return h2loadLoad{path: procedure, contentType: "application/grpc", headers: []string{"te: trailers"}, body: grpcBody(m)}
	case "grpcweb":
		return h2loadLoad{path: procedure, contentType: "application/grpc-web+proto", headers: []string{"x-grpc-web: 1"}, body: grpcBody(m)}
	case "connect":
		if unary {
			return h2loadLoad{path: procedure, contentType: "application/proto", headers: []string{"connect-protocol-version: 1"}, body: rawBody(m)}
		}
		return h2loadLoad{path: procedure, contentType: "application/connect+proto", headers: []string{"connect-protocol-version: 1"}, body: grpcBody(m)}
	}
	panic("unknown protocol " + protocol)
}
