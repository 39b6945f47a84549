// Command chat-load drives RouteChat as the harness's RouteChat row does, on
// its own, so that a profile of one server can be taken under that load:
// streams that each send notes at new locations as fast as they can while
// reading the replies, for a set time, then end and print replies a second.
//
//	chat-load -url http://127.0.0.1:50095 -streams 16 -d 7s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chat-load:", err)
		os.Exit(1)
	}
}

func run() error {
	url := flag.String("url", "http://127.0.0.1:50095", "base `URL` of the server")
	streams := flag.Int("streams", 16, "RouteChat streams, all on one connection")
	d := flag.Duration("d", 5*time.Second, "how long to send")
	flag.Parse()
	c, err := client.New(*url, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return err
	}
	// Bounded: sending stops at deadline, and everything ends by ctx.
	ctx, cancel := context.WithTimeout(context.Background(), *d+10*time.Second)
	defer cancel()
	deadline := time.Now().Add(*d)
	var replies atomic.Int64
	errs := make(chan error, 2**streams)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *streams {
		chat := c.RouteChat(ctx)
		latitude := int32(i + 1000)
		wg.Go(func() {
			for longitude := int32(1); time.Now().Before(deadline); longitude++ {
				note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: latitude, Longitude: longitude}, Message: "load"}
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
				replies.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	fmt.Printf("%.0f replies/s\n", float64(replies.Load())/time.Since(start).Seconds())
	return nil
}
