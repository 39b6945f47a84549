// Command chat-load drives RouteChat as the harness's RouteChat row does, on
// its own, so that a profile of one server can be taken under that load:
// streams that each send notes at new locations as fast as they can while
// reading the replies, for a set time, then end and print replies a second.
//
//	chat-load -url http://127.0.0.1:50095 -streams 16 -d 7s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/routeguide/routeguide/bench/internal/chatload"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:50095", "base `URL` of the server")
	streams := flag.Int("streams", 16, "RouteChat streams, all on one connection")
	d := flag.Duration("d", 5*time.Second, "how long to send")
	flag.Parse()
	replies, elapsed, err := chatload.Run(context.Background(), *url, *streams, *d)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat-load:", err)
		os.Exit(1)
	}
	fmt.Printf("%.0f replies/s\n", float64(replies)/elapsed.Seconds())
}
