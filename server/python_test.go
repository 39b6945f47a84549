package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// The Python interop test runs testdata/route_guide_client.py, a client on
// Python grpcio, against a real server, with Debian's packages.
const (
	pythonPackages    = "python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc"
	python            = "/usr/bin/python3"
	grpcPythonPlugin  = "/usr/bin/grpc_python_plugin"
	pythonClientPath  = "testdata/route_guide_client.py"
	routeGuideProto   = "routeguide/route_guide.proto"
	protoRoot         = "../proto"
	pythonRunDeadline = time.Minute
)

// missingPythonTool skips the test, or fails it in CI, where the Python
// client must run: CI installs everything it needs.
func missingPythonTool(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so the Python interop test must run: apt-get install %s", msg, pythonPackages)
	}
	t.Skipf("%s; to run this test: apt-get install %s", msg, pythonPackages)
}

// generatePythonStubs writes route_guide_pb2.py and route_guide_pb2_grpc.py
// into dir/routeguide with Debian's protoc and gRPC Python plugin, which
// match its python3-protobuf runtime. (python3-grpc-tools would do too, but
// it bundles protoc 3.5.1, whose old style of output we need not rely on.)
func generatePythonStubs(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		missingPythonTool(t, "protoc not found: %v", err)
	}
	if _, err := os.Stat(grpcPythonPlugin); err != nil {
		missingPythonTool(t, "gRPC Python plugin not found: %v", err)
	}
	cmd := exec.CommandContext(ctx, protoc,
		"-I", protoRoot,
		"--python_out", dir,
		"--grpc_python_out", dir,
		"--plugin=protoc-gen-grpc_python="+grpcPythonPlugin,
		routeGuideProto)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, out)
	}
}

// pythonOutput is one JSON line printed by the Python client.
type pythonOutput struct {
	Call     string          `json:"call"`
	Feature  *pythonFeature  `json:"feature"`
	Features []pythonFeature `json:"features"`

	PointCount   *int32 `json:"point_count"`
	FeatureCount int32  `json:"feature_count"`
	Distance     int32  `json:"distance"`
	ElapsedTime  int32  `json:"elapsed_time"`

	Replies []struct {
		Latitude  int32  `json:"latitude"`
		Longitude int32  `json:"longitude"`
		Message   string `json:"message"`
	} `json:"replies"`

	Case string `json:"case"`
	Code string `json:"code"`
}

type pythonFeature struct {
	Name      string `json:"name"`
	Latitude  int32  `json:"latitude"`
	Longitude int32  `json:"longitude"`
}

func (f pythonFeature) proto() *routeguide.Feature {
	return &routeguide.Feature{Name: f.Name, Location: &routeguide.Point{Latitude: f.Latitude, Longitude: f.Longitude}}
}

func TestPythonGRPCClient(t *testing.T) {
	t.Parallel()
	features := routeguidetest.CanonicalFeatures(t)
	if _, err := os.Stat(python); err != nil {
		missingPythonTool(t, "Debian's Python not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), pythonRunDeadline)
	defer cancel()
	// -s: packages in the user's site directory must not stand in for Debian's.
	check := exec.CommandContext(ctx, python, "-s", "-c", "import grpc, google.protobuf")
	if out, err := check.CombinedOutput(); err != nil {
		missingPythonTool(t, "%s cannot import grpc and protobuf: %v\n%s", python, err, out)
	}
	stubs := t.TempDir()
	generatePythonStubs(ctx, t, stubs)

	// A fresh server, since RouteChat's answers depend on the notes before.
	ts := routeguidetest.NewRouteGuide(t, features)
	cmd := exec.CommandContext(ctx, python, "-s", pythonClientPath,
		"--db", routeguidetest.CanonicalFeaturesPath(), ts.Listener.Addr().String())
	cmd.Env = append(os.Environ(), "PYTHONPATH="+stubs, "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	stdout, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", pythonClientPath, err, stdout, stderr.Bytes())
	}

	// The client checks its answers itself; check them again here, so that a
	// client that checks nothing cannot pass.
	calls := make(map[string][]pythonOutput)
	scanner := bufio.NewScanner(bytes.NewReader(stdout))
	scanner.Buffer(nil, 1<<20)
	for scanner.Scan() {
		var line pythonOutput
		if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
			t.Fatalf("Python client printed %q: %v", scanner.Text(), err)
		}
		calls[line.Call] = append(calls[line.Call], line)
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read Python client output: %v", err)
	}
	if len(calls["done"]) != 1 {
		t.Fatalf("Python client did not finish its calls; output:\n%s", stdout)
	}

	t.Run("GetFeature", func(t *testing.T) {
		want := []*routeguide.Feature{berkshireValley, {Location: &routeguide.Point{}}}
		var got []*routeguide.Feature
		for _, line := range calls["GetFeature"] {
			if line.Feature == nil {
				t.Fatalf("GetFeature line without a feature")
			}
			got = append(got, line.Feature.proto())
		}
		if diff := diffMessages(got, want); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("ListFeatures", func(t *testing.T) {
		lines := calls["ListFeatures"]
		if len(lines) != 1 {
			t.Fatalf("got %d ListFeatures lines, want 1", len(lines))
		}
		var got []*routeguide.Feature
		for _, f := range lines[0].Features {
			got = append(got, f.proto())
		}
		if diff := diffMessages(got, featuresWithin(features, tutorialRectangle())); diff != "" || len(got) != 100 {
			t.Errorf("got %d features, want the 100 of the dataset in order: %s", len(got), diff)
		}
	})
	t.Run("RecordRoute", func(t *testing.T) {
		lines := calls["RecordRoute"]
		if len(lines) != 1 || lines[0].PointCount == nil {
			t.Fatalf("got %d RecordRoute lines (%+v), want 1 with a summary", len(lines), lines)
		}
		got := lines[0]
		want := wantSummary(features, tutorialRoute(features))
		if *got.PointCount != want.PointCount || got.FeatureCount != want.FeatureCount || got.Distance != want.Distance {
			t.Errorf("got point_count %d, feature_count %d, distance %d; want %d, %d, %d",
				*got.PointCount, got.FeatureCount, got.Distance, want.PointCount, want.FeatureCount, want.Distance)
		}
		if e := got.ElapsedTime; e < 0 || time.Duration(e)*time.Second > took {
			t.Errorf("got elapsed_time %d s from a client that ran for %v", e, took)
		}
	})
	t.Run("RouteChat", func(t *testing.T) {
		lines := calls["RouteChat"]
		if len(lines) != 1 {
			t.Fatalf("got %d RouteChat lines, want 1", len(lines))
		}
		var got []*routeguide.RouteNote
		for _, r := range lines[0].Replies {
			got = append(got, &routeguide.RouteNote{
				Location: &routeguide.Point{Latitude: r.Latitude, Longitude: r.Longitude},
				Message:  r.Message,
			})
		}
		if diff := diffMessages(got, wantChatReplies()); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("errors", func(t *testing.T) {
		want := map[string]string{
			"GetFeature latitude 950000000": "INVALID_ARGUMENT",
			"ListFeatures without hi":       "INVALID_ARGUMENT",
		}
		got := make(map[string]string)
		for _, line := range calls["error"] {
			got[line.Case] = line.Code
		}
		if len(got) != len(want) {
			t.Errorf("got error cases %v, want %v", got, want)
		}
		for name, code := range want {
			if got[name] != code {
				t.Errorf("%s: got code %q, want %q", name, got[name], code)
			}
		}
	})
	if stderr.Len() > 0 {
		t.Logf("Python client stderr:\n%s", stderr.Bytes())
	}
}
