// Package chatload keeps RouteChat streams busy: the harness's RouteChat
// row and bench/cmd/chat-load, which drives the same load for a profile.
package chatload

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// Run keeps streams chats on one connection to the server at url busy for
// d, each sending notes at locations of its own (so that each note has one
// reply, itself) as fast as it can while reading the replies. It returns
// the replies read and the time it took, the wait for the last replies
// included. It gives up 10 s after d.
func Run(ctx context.Context, url string, streams int, d time.Duration) (replies int64, elapsed time.Duration, err error) {
	c, err := client.New(url, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, d+10*time.Second)
	defer cancel()
	var received atomic.Int64
	deadline := time.Now().Add(d)
	errs := make(chan error, 2*streams)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range streams {
		latitude := int32(1000 + i)
		chat := c.RouteChat(ctx)
		wg.Go(func() {
			for longitude := int32(1); time.Now().Before(deadline); longitude++ {
				note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: latitude, Longitude: longitude}, Message: "bench"}
				if err := chat.Send(note); err != nil {
					errs <- err
					return
				}
			}
			errs <- chat.CloseSend()
		})
		wg.Go(func() {
			for {
				_, err := chat.Receive()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				received.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, 0, err
		}
	}
	return received.Load(), time.Since(start), nil
}
