package server_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alphapb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/dataset"
)

// These tests drive the server with grpc-go, the client of the tutorial's Go
// version, to show that it works unchanged. grpcRouteGuide makes the same
// calls on the ClientConn that protoc-gen-go-grpc stubs make, so the product
// needs no second code generator.

// grpcRouteGuide is a RouteGuide client over a grpc-go ClientConn.
type grpcRouteGuide struct {
	cc *grpc.ClientConn
}

// dialGRPC connects grpc-go to ts over HTTP/2 without TLS, as the tutorial's
// client does. The connection is closed when the test ends.
func dialGRPC(t *testing.T, ts *httptest.Server) grpcRouteGuide {
	t.Helper()
	cc, err := grpc.NewClient(ts.Listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() {
		if err := cc.Close(); err != nil {
			t.Errorf("close grpc connection: %v", err)
		}
	})
	return grpcRouteGuide{cc: cc}
}

// callContext bounds a test's calls so that a wedged stream fails the test
// instead of hanging it; it is not a measure of speed.
func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (g grpcRouteGuide) getFeature(ctx context.Context, p *routeguide.Point) (*routeguide.Feature, error) {
	f := new(routeguide.Feature)
	if err := g.cc.Invoke(ctx, routeguideconnect.RouteGuideGetFeatureProcedure, p, f); err != nil {
		return nil, err
	}
	return f, nil
}

func (g grpcRouteGuide) listFeatures(ctx context.Context, r *routeguide.Rectangle) ([]*routeguide.Feature, error) {
	desc := &grpc.StreamDesc{StreamName: "ListFeatures", ServerStreams: true}
	stream, err := g.cc.NewStream(ctx, desc, routeguideconnect.RouteGuideListFeaturesProcedure)
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(r); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	var features []*routeguide.Feature
	for {
		f := new(routeguide.Feature)
		err := stream.RecvMsg(f)
		if errors.Is(err, io.EOF) {
			return features, nil
		}
		if err != nil {
			return features, err
		}
		features = append(features, f)
	}
}

func (g grpcRouteGuide) recordRoute(ctx context.Context, route []*routeguide.Point) (*routeguide.RouteSummary, error) {
	desc := &grpc.StreamDesc{StreamName: "RecordRoute", ClientStreams: true}
	stream, err := g.cc.NewStream(ctx, desc, routeguideconnect.RouteGuideRecordRouteProcedure)
	if err != nil {
		return nil, err
	}
	for _, p := range route {
		// io.EOF means the server has already answered; RecvMsg has the status.
		if err := stream.SendMsg(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	summary := new(routeguide.RouteSummary)
	if err := stream.RecvMsg(summary); err != nil {
		return nil, err
	}
	return summary, nil
}

// routeChat sends notes while it receives replies, as the tutorial's client
// does, and returns the replies once the server has finished.
func (g grpcRouteGuide) routeChat(ctx context.Context, notes []*routeguide.RouteNote) ([]*routeguide.RouteNote, error) {
	desc := &grpc.StreamDesc{StreamName: "RouteChat", ServerStreams: true, ClientStreams: true}
	stream, err := g.cc.NewStream(ctx, desc, routeguideconnect.RouteGuideRouteChatProcedure)
	if err != nil {
		return nil, err
	}
	type result struct {
		replies []*routeguide.RouteNote
		err     error
	}
	received := make(chan result, 1)
	go func() {
		var r result
		for {
			note := new(routeguide.RouteNote)
			if err := stream.RecvMsg(note); err != nil {
				if !errors.Is(err, io.EOF) {
					r.err = err
				}
				received <- r
				return
			}
			r.replies = append(r.replies, note)
		}
	}()
	for _, note := range notes {
		if err := stream.SendMsg(note); err != nil {
			break // the receiving side reports why
		}
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	r := <-received
	return r.replies, r.err
}

func TestGRPCGoGetFeature(t *testing.T) {
	t.Parallel()
	features := routeguidetest.CanonicalFeatures(t)
	g := dialGRPC(t, routeguidetest.NewRouteGuide(t, features))
	ctx := callContext(t)

	got, err := g.getFeature(ctx, &routeguide.Point{Latitude: 409146138, Longitude: -746188906})
	if err != nil {
		t.Fatalf("GetFeature(409146138, -746188906): %v", err)
	}
	if !proto.Equal(got, berkshireValley) {
		t.Errorf("GetFeature(409146138, -746188906) = {%v}, want {%v}", got, berkshireValley)
	}

	got, err = g.getFeature(ctx, &routeguide.Point{})
	if err != nil {
		t.Fatalf("GetFeature(0, 0): %v", err)
	}
	// An explicit (0, 0) point: the tutorial's client prints its location.
	want := &routeguide.Feature{Location: &routeguide.Point{}}
	if !proto.Equal(got, want) { // proto.Equal tells an absent location from (0, 0)
		t.Errorf("GetFeature(0, 0) = {%v}, want an unnamed feature at (0, 0)", got)
	}
}

// TestGRPCGoGetFeatureEveryFeature asks for every feature of each dataset
// by its location, so that every name, including non-ASCII ones in the
// default dataset, crosses the wire intact.
func TestGRPCGoGetFeatureEveryFeature(t *testing.T) {
	t.Parallel()
	datasets := map[string]func(*testing.T) []*routeguide.Feature{
		"canonical": func(t *testing.T) []*routeguide.Feature { return routeguidetest.CanonicalFeatures(t) },
		"default":   func(*testing.T) []*routeguide.Feature { return dataset.Default() },
	}
	for name, load := range datasets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			features := load(t)
			g := dialGRPC(t, routeguidetest.NewRouteGuide(t, features))
			ctx := callContext(t)
			for _, want := range features {
				got, err := g.getFeature(ctx, want.GetLocation())
				if err != nil {
					t.Fatalf("GetFeature(%v): %v", want.GetLocation(), err)
				}
				if !proto.Equal(got, want) {
					t.Errorf("GetFeature(%v) = {%v}, want {%v}", want.GetLocation(), got, want)
				}
			}
		})
	}
}

func TestGRPCGoListFeatures(t *testing.T) {
	t.Parallel()
	t.Run("tutorial rectangle", func(t *testing.T) {
		t.Parallel()
		features := routeguidetest.CanonicalFeatures(t)
		g := dialGRPC(t, routeguidetest.NewRouteGuide(t, features))
		got, err := g.listFeatures(callContext(t), tutorialRectangle())
		if err != nil {
			t.Fatalf("ListFeatures: %v", err)
		}
		if len(got) != 100 {
			t.Errorf("ListFeatures(tutorial rectangle) gave %d features, want all 100", len(got))
		}
		if diff := diffMessages(got, features); diff != "" {
			t.Errorf("ListFeatures(tutorial rectangle) is not the dataset in order: %s", diff)
		}
	})
	t.Run("whole world, corners reversed", func(t *testing.T) {
		t.Parallel()
		features := dataset.Default()
		g := dialGRPC(t, routeguidetest.NewRouteGuide(t, features))
		world := &routeguide.Rectangle{
			Lo: &routeguide.Point{Latitude: 900000000, Longitude: 1800000000},
			Hi: &routeguide.Point{Latitude: -900000000, Longitude: -1800000000},
		}
		got, err := g.listFeatures(callContext(t), world)
		if err != nil {
			t.Fatalf("ListFeatures: %v", err)
		}
		if diff := diffMessages(got, features); diff != "" {
			t.Errorf("ListFeatures(whole world) is not the dataset in order: %s", diff)
		}
	})
	t.Run("part of the default dataset", func(t *testing.T) {
		t.Parallel()
		features := dataset.Default()
		g := dialGRPC(t, routeguidetest.NewRouteGuide(t, features))
		northEast := &routeguide.Rectangle{
			Lo: &routeguide.Point{Latitude: 0, Longitude: 0},
			Hi: &routeguide.Point{Latitude: 900000000, Longitude: 1800000000},
		}
		want := featuresWithin(features, northEast)
		if len(want) == 0 || len(want) == len(features) {
			t.Fatalf("the default dataset has %d of %d features in the north-east quarter; the test needs some in and some out",
				len(want), len(features))
		}
		got, err := g.listFeatures(callContext(t), northEast)
		if err != nil {
			t.Fatalf("ListFeatures: %v", err)
		}
		if diff := diffMessages(got, want); diff != "" {
			t.Errorf("ListFeatures(north-east quarter): %s", diff)
		}
	})
}

func TestGRPCGoRecordRoute(t *testing.T) {
	t.Parallel()
	features := routeguidetest.CanonicalFeatures(t)
	g := dialGRPC(t, routeguidetest.NewRouteGuide(t, features))
	route := tutorialRoute(features)

	start := time.Now()
	got, err := g.recordRoute(callContext(t), route)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("RecordRoute: %v", err)
	}
	want := wantSummary(features, route)
	if want.PointCount != 11 || want.FeatureCount != 10 || want.Distance == 0 {
		t.Fatalf("the test's own route is not what it expects: %v", want)
	}
	if got.GetPointCount() != want.PointCount || got.GetFeatureCount() != want.FeatureCount || got.GetDistance() != want.Distance {
		t.Errorf("RecordRoute = {%v}, want point_count %d, feature_count %d, distance %d",
			got, want.PointCount, want.FeatureCount, want.Distance)
	}
	// Whole seconds of a call that took took: a consistency check, not a
	// speed test.
	if e := got.GetElapsedTime(); e < 0 || time.Duration(e)*time.Second > took {
		t.Errorf("RecordRoute elapsed_time = %d s for a call that took %v", e, took)
	}
}

func TestGRPCGoRouteChat(t *testing.T) {
	t.Parallel()
	// RouteChat keeps notes for the life of the server: this one is fresh.
	g := dialGRPC(t, routeguidetest.NewRouteGuide(t, dataset.Default()))
	got, err := g.routeChat(callContext(t), tutorialNotes())
	if err != nil {
		t.Fatalf("RouteChat: %v", err)
	}
	if diff := diffMessages(got, wantChatReplies()); diff != "" {
		t.Errorf("RouteChat replies to the tutorial's notes: %s", diff)
	}
}

func TestGRPCGoInvalidArgument(t *testing.T) {
	t.Parallel()
	g := dialGRPC(t, routeguidetest.NewRouteGuide(t, dataset.Default()))
	ctx := callContext(t)
	outOfRange := &routeguide.Point{Latitude: 950000000, Longitude: -746188906}
	tests := []struct {
		name string
		call func() error
		// mention is a word the message must hold to help the caller.
		mention string
	}{
		{"GetFeature latitude 950000000", func() error {
			_, err := g.getFeature(ctx, outOfRange)
			return err
		}, "latitude"},
		{"ListFeatures without hi", func() error {
			_, err := g.listFeatures(ctx, &routeguide.Rectangle{Lo: &routeguide.Point{}})
			return err
		}, "hi"},
		{"ListFeatures without lo", func() error {
			_, err := g.listFeatures(ctx, &routeguide.Rectangle{Hi: &routeguide.Point{}})
			return err
		}, "lo"},
		{"RecordRoute point out of range", func() error {
			_, err := g.recordRoute(ctx, []*routeguide.Point{{}, outOfRange, {}})
			return err
		}, "latitude"},
		{"RouteChat note without location", func() error {
			_, err := g.routeChat(ctx, []*routeguide.RouteNote{{Message: "nowhere"}})
			return err
		}, "location"},
	}
	for _, tt := range tests {
		err := tt.call()
		if got := status.Code(err); got != codes.InvalidArgument {
			t.Errorf("%s: got code %v (%v), want %v", tt.name, got, err, codes.InvalidArgument)
			continue
		}
		if msg := status.Convert(err).Message(); !strings.Contains(msg, tt.mention) {
			t.Errorf("%s: message %q does not mention %q", tt.name, msg, tt.mention)
		}
	}

	// The same connection still serves after the failed calls.
	want := dataset.Default()[0]
	got, err := g.getFeature(ctx, want.GetLocation())
	if err != nil {
		t.Fatalf("GetFeature after the invalid calls: %v", err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("GetFeature after the invalid calls = {%v}, want {%v}", got, want)
	}
}

func TestGRPCGoHealth(t *testing.T) {
	t.Parallel()
	g := dialGRPC(t, routeguidetest.NewRouteGuide(t, dataset.Default()))
	health := healthpb.NewHealthClient(g.cc)
	ctx := callContext(t)
	for _, service := range []string{"", "routeguide.RouteGuide"} {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Errorf("Health.Check(%q): %v", service, err)
			continue
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Health.Check(%q) = %v, want SERVING", service, resp.GetStatus())
		}
	}
	_, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	if got := status.Code(err); got != codes.NotFound {
		t.Errorf("Health.Check(unknown service): got code %v (%v), want %v", got, err, codes.NotFound)
	}
}

func TestGRPCGoReflection(t *testing.T) {
	t.Parallel()
	g := dialGRPC(t, routeguidetest.NewRouteGuide(t, dataset.Default()))
	stream, err := reflectionpb.NewServerReflectionClient(g.cc).ServerReflectionInfo(callContext(t))
	if err != nil {
		t.Fatalf("ServerReflectionInfo: %v", err)
	}
	ask := func(req *reflectionpb.ServerReflectionRequest) *reflectionpb.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatalf("reflection send: %v", err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("reflection receive: %v", err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			t.Fatalf("reflection error %d: %s", e.GetErrorCode(), e.GetErrorMessage())
		}
		return resp
	}

	resp := ask(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	})
	var services []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	slices.Sort(services)
	wantServices := []string{
		"grpc.health.v1.Health",
		"grpc.reflection.v1.ServerReflection",
		"grpc.reflection.v1alpha.ServerReflection",
		"routeguide.RouteGuide",
		"routeguide.notes.v1.NotesService",
	}
	if !slices.Equal(services, wantServices) {
		t.Errorf("reflection lists services %q, want %q", services, wantServices)
	}

	// The descriptor a tool like grpcurl builds its calls from.
	resp = ask(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "routeguide.RouteGuide"},
	})
	files := resp.GetFileDescriptorResponse().GetFileDescriptorProto()
	if len(files) == 0 {
		t.Fatal("reflection gave no file for routeguide.RouteGuide")
	}
	file := new(descriptorpb.FileDescriptorProto)
	if err := proto.Unmarshal(files[0], file); err != nil {
		t.Fatalf("unmarshal file descriptor: %v", err)
	}
	if file.GetPackage() != "routeguide" || len(file.GetService()) != 1 || file.GetService()[0].GetName() != "RouteGuide" {
		t.Fatalf("reflection gave file %q, package %q with services %v; want package routeguide with RouteGuide",
			file.GetName(), file.GetPackage(), file.GetService())
	}
	type streaming struct{ client, server bool }
	wantMethods := map[string]streaming{
		"GetFeature":   {},
		"ListFeatures": {server: true},
		"RecordRoute":  {client: true},
		"RouteChat":    {client: true, server: true},
	}
	gotMethods := make(map[string]streaming)
	for _, m := range file.GetService()[0].GetMethod() {
		gotMethods[m.GetName()] = streaming{m.GetClientStreaming(), m.GetServerStreaming()}
	}
	if len(gotMethods) != len(wantMethods) {
		t.Errorf("RouteGuide has methods %v, want %v", gotMethods, wantMethods)
	}
	for name, want := range wantMethods {
		if got, ok := gotMethods[name]; !ok || got != want {
			t.Errorf("method %s: got %+v (present %v), want %+v", name, got, ok, want)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Errorf("reflection close: %v", err)
	}
}

// TestGRPCGoReflectionV1Alpha checks the older reflection service, which
// older grpcurl and grpc tools ask first.
func TestGRPCGoReflectionV1Alpha(t *testing.T) {
	t.Parallel()
	g := dialGRPC(t, routeguidetest.NewRouteGuide(t, dataset.Default()))
	stream, err := reflectionv1alphapb.NewServerReflectionClient(g.cc).ServerReflectionInfo(callContext(t))
	if err != nil {
		t.Fatalf("ServerReflectionInfo: %v", err)
	}
	if err := stream.Send(&reflectionv1alphapb.ServerReflectionRequest{
		MessageRequest: &reflectionv1alphapb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	if !slices.Contains(services, "routeguide.RouteGuide") || !slices.Contains(services, "grpc.health.v1.Health") {
		t.Errorf("v1alpha reflection lists %q, want RouteGuide and health among them", services)
	}
	if err := stream.CloseSend(); err != nil {
		t.Error(err)
	}
}
