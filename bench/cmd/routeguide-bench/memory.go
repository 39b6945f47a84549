package main

import (
	"context"
	"fmt"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// memory records resident memory with the largest dataset loaded and per
// idle RouteChat stream.
func (b *bench) memory(ctx context.Context, r *report) error {
	n := b.o.sizes[len(b.o.sizes)-1]
	procs, err := b.servers(ctx, n, false)
	if err != nil {
		return err
	}
	defer stopAll(procs)
	time.Sleep(2 * time.Second) // let the loading garbage go
	for _, p := range procs {
		rss, err := p.rss()
		if err != nil {
			return err
		}
		r.memory = append(r.memory, memoryFigure{what: fmt.Sprintf("RSS with %d features loaded, idle", n), server: p.name, bytes: rss})
		perChat, err := idleChatMemory(ctx, p, b.o.chatIdle)
		if err != nil {
			return fmt.Errorf("idle chats on %s: %w", p.name, err)
		}
		r.memory = append(r.memory, memoryFigure{what: fmt.Sprintf("RSS per idle RouteChat stream (%d open)", b.o.chatIdle), server: p.name, bytes: perChat})
	}
	return nil
}

// idleChatMemory opens count chats, each sending a note and reading its
// reply, and reports the server's memory per open chat.
func idleChatMemory(ctx context.Context, p *process, count int) (int64, error) {
	c, err := client.New(p.url(), client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return 0, err
	}
	time.Sleep(500 * time.Millisecond)
	before, err := p.rss()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chats := make([]*client.Chat, count)
	for i := range chats {
		chats[i] = c.RouteChat(ctx)
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: 7_000_000, Longitude: int32(i)}, Message: "idle"}
		if err := chats[i].Send(note); err != nil {
			return 0, fmt.Errorf("chat %d: %w", i, err)
		}
		if _, err := chats[i].Receive(); err != nil {
			return 0, fmt.Errorf("chat %d: %w", i, err)
		}
	}
	time.Sleep(time.Second)
	after, err := p.rss()
	if err != nil {
		return 0, err
	}
	for _, chat := range chats {
		chat.CloseSend()
	}
	return (after - before) / int64(count), nil
}
