// Command idle-chats opens RouteChat streams to a server and holds them
// open, idle, so that what an idle stream costs the server can be measured
// (see cmd/profile-server). Each stream sends one note and reads its reply
// first, as the harness's memory figure does.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "idle-chats:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("idle-chats", flag.ContinueOnError)
	flags.SetOutput(stderr)
	url := flags.String("url", "http://127.0.0.1:50070", "base `URL` of the server")
	n := flags.Int("n", 2000, "streams to open")
	hold := flags.Duration("hold", 20*time.Second, "how long to hold them open")
	if err := flags.Parse(args); err != nil {
		return err
	}
	c, err := client.New(*url, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chats := make([]*client.Chat, *n)
	for i := range chats {
		chats[i] = c.RouteChat(ctx)
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: 7_000_000, Longitude: int32(i)}, Message: "idle"}
		if err := chats[i].Send(note); err != nil {
			return fmt.Errorf("chat %d: %w", i, err)
		}
		if _, err := chats[i].Receive(); err != nil {
			return fmt.Errorf("chat %d: %w", i, err)
		}
	}
	fmt.Fprintf(stderr, "idle-chats: %d streams open, holding them for %s\n", *n, *hold)
	time.Sleep(*hold)
	for _, chat := range chats {
		chat.CloseSend()
	}
	return nil
}
