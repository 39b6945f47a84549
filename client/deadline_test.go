package client_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestRouteChatEndsAtItsDeadline: a replica that stops answering in the
// middle of a RouteChat (SIGSTOP, a partition) must not hold the call past
// its deadline. Go's HTTP/2 client alone waits until the server answers
// again while the request body is open: the nemesis saw a 30 s RouteChat
// return after 42.6 s, when its replica was continued. Here the replica
// answers the call's headers and then nothing until the call has ended, or
// 10 s.
func TestRouteChatEndsAtItsDeadline(t *testing.T) {
	t.Parallel()
	ended := make(chan struct{})
	var answeredLate atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc(routeguideconnect.RouteGuideRouteChatProcedure, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			answeredLate.Store(true) // the call is still waiting: let it end
		}
	})
	ts := routeguidetest.NewServer(t, mux)
	c, err := client.New(ts.URL, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	chat := c.RouteChat(ctx)
	if err := chat.Send(&routeguide.RouteNote{Location: pt(10, 10), Message: "into the void"}); err != nil {
		t.Fatal(err)
	}
	_, err = chat.Receive()
	close(ended)
	if answeredLate.Load() {
		t.Fatal("Receive returned only once the replica answered again, not at the call's deadline")
	}
	if got, want := connect.CodeOf(err), connect.CodeDeadlineExceeded; got != want {
		t.Errorf("Receive: %v, want %v", err, want)
	}
}
