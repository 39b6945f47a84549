package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	"go.uber.org/goleak"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var features = []*routeguide.Feature{
	{Name: "Alpha", Location: &routeguide.Point{Latitude: 10, Longitude: 10}},
	{Name: "Berkshire Valley Management Area Trail, Jefferson, NJ, USA",
		Location: &routeguide.Point{Latitude: 409146138, Longitude: -746188906}},
	{Name: "Bravo", Location: &routeguide.Point{Latitude: 20, Longitude: 20}},
}

// runCLI runs the command line against addr and returns what it printed.
func runCLI(t *testing.T, addr, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"--addr", addr}, args...), strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestCommands(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"get-feature", "", []string{"get-feature", "10", "10"},
			`{"name":"Alpha","location":{"latitude":10,"longitude":10}}` + "\n"},
		{"get-feature of nothing", "", []string{"get-feature", "-5", "7"},
			`{"name":"","location":{"latitude":-5,"longitude":7}}` + "\n"},
		{"list-features", "", []string{"list-features", "0", "0", "20", "20"},
			`{"name":"Alpha","location":{"latitude":10,"longitude":10}}` + "\n" +
				`{"name":"Bravo","location":{"latitude":20,"longitude":20}}` + "\n"},
		{"record-route from arguments", "", []string{"record-route", "10", "10", "0", "0", "0", "10000000"},
			`{"pointCount":3,"featureCount":1,"distance":111194,"elapsedTime":0}` + "\n"},
		{"record-route from stdin", "{\"latitude\":10,\"longitude\":10}\n\n{\"latitude\":20,\"longitude\":20}\n",
			[]string{"record-route"},
			`{"pointCount":2,"featureCount":2,"distance":0,"elapsedTime":0}` + "\n"},
		{"route-chat", `{"location":{"latitude":3,"longitude":3},"message":"a"}` + "\n" +
			`{"location":{"latitude":3,"longitude":3},"message":"b"}` + "\n",
			[]string{"route-chat"},
			`{"location":{"latitude":3,"longitude":3},"message":"a"}` + "\n" +
				`{"location":{"latitude":3,"longitude":3},"message":"a"}` + "\n" +
				`{"location":{"latitude":3,"longitude":3},"message":"b"}` + "\n"},
	}
	for _, protocol := range []string{"connect", "grpc", "grpcweb"} {
		for _, tt := range tests {
			args := append([]string{"--protocol", protocol}, tt.args...)
			if tt.name == "route-chat" {
				// The notes store is shared: one chat per server.
				if protocol != "grpc" {
					continue
				}
			}
			got, stderr, err := runCLI(t, ts.URL, tt.stdin, args...)
			if err != nil {
				t.Fatalf("%s over %s: %v (stderr %q)", tt.name, protocol, err, stderr)
			}
			if got != tt.want {
				t.Errorf("%s over %s printed\n%s\nwant\n%s", tt.name, protocol, got, tt.want)
			}
		}
	}
}

func TestJSONCodecAndBareAddress(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	bare := strings.TrimPrefix(ts.URL, "http://")
	got, _, err := runCLI(t, bare, "", "--json", "get-feature", "20", "20")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, `"name":"Bravo"`) {
		t.Errorf("get-feature printed %q, want Bravo", got)
	}
}

func TestTour(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	got, _, err := runCLI(t, ts.URL, "", "tour")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^"Berkshire Valley Management Area Trail, Jefferson, NJ, USA" at \(409146138, -746188906\)$`),
		regexp.MustCompile(`(?m)^no feature at \(0, 0\)$`),
		regexp.MustCompile(`(?m)^features found: 1$`),
		regexp.MustCompile(`(?m)^\d+ points, \d+ features, \d+ metres, \d+ seconds$`),
		regexp.MustCompile(`(?m)^"Sixth message" at \(0, 3\)\n?\z`),
	} {
		if !want.MatchString(got) {
			t.Errorf("tour output does not match %v:\n%s", want, got)
		}
	}
	if n := strings.Count(got, " message\" at "); n != 9 {
		t.Errorf("tour printed %d chat replies, want 9:\n%s", n, got)
	}
}

func TestRPCErrors(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	tests := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"get-feature", "950000000", "0"}, "latitude 950000000 is out of range"},
		{"", []string{"list-features", "0", "0", "0", "1900000000"}, "hi.longitude 1900000000 is out of range"},
		{"", []string{"record-route", "0", "0", "0", "1900000000"}, "point 2: longitude"},
		{`{"message":"nowhere"}` + "\n", []string{"route-chat"}, "location is required"},
	}
	for _, tt := range tests {
		_, _, err := runCLI(t, ts.URL, tt.stdin, tt.args...)
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q = %v, want invalid_argument: %s", tt.args, err, tt.want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	tests := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", nil, "usage"},
		{"", []string{"fly"}, "usage"},
		{"", []string{"--protocol", "http", "tour"}, `unknown protocol "http"`},
		{"", []string{"get-feature", "1"}, "want 2 coordinates, got 1"},
		{"", []string{"get-feature", "north", "1"}, `latitude "north": want an integer within ±900000000 (±90° in E7 units`},
		{"", []string{"record-route", "1", "2", "3"}, "pairs of coordinates"},
		{"{\"latitude\":1}\nnot json\n", []string{"record-route"}, "stdin line 2"},
		{"{\"location\":{}}\n{oops\n", []string{"route-chat"}, "stdin line 2"},
		{"", []string{"route-chat", "extra"}, "takes no arguments"},
	}
	for _, tt := range tests {
		_, _, err := runCLI(t, ts.URL, tt.stdin, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	url := ts.URL
	ts.Close()
	_, _, err := runCLI(t, url, "", "get-feature", "1", "1")
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("get-feature against a closed server = %v, want unavailable", err)
	}
}
