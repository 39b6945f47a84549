package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// The streams of the drain mode: each opens, signals that it is open, then
// crawls along until the server is told to stop.

// world is a rectangle holding every valid point.
var world = &routeguide.Rectangle{
	Lo: &routeguide.Point{Latitude: -900_000_000, Longitude: -1_800_000_000},
	Hi: &routeguide.Point{Latitude: 900_000_000, Longitude: 1_800_000_000},
}

// listSlowly lists every feature, taking one every 20ms until term, and then
// as fast as they come, after a pause of stall.
func listSlowly(ctx context.Context, c *client.Client, open func(), term <-chan struct{}, stall time.Duration) error {
	pace := 20 * time.Millisecond
	for _, err := range c.ListFeatures(ctx, world) {
		if err != nil {
			return err
		}
		open()
		select {
		case <-term:
			if stall > 0 {
				time.Sleep(stall)
				stall = 0
			}
		default:
			if stall > 0 {
				<-term // a stalled client reads nothing more
				continue
			}
			time.Sleep(pace)
		}
	}
	return nil
}

// recordSlowly sends a point every 50ms until the call fails, and then ends
// it; it counts as open once its first point is sent.
func recordSlowly(ctx context.Context, c *client.Client, open func(), term <-chan struct{}) error {
	p := &routeguide.Point{Latitude: 409146138, Longitude: -746188906}
	route := func(yield func(*routeguide.Point) bool) {
		for {
			if !yield(p) {
				return
			}
			open()
			pace := 50 * time.Millisecond
			select {
			case <-term:
				pace = time.Millisecond
			default:
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(pace):
			}
		}
	}
	_, err := c.RecordRoute(ctx, route)
	if err == nil {
		return errors.New("RecordRoute returned a summary")
	}
	return err
}

// chatSlowly sends a note every 100ms, and counts as open once the first
// reply came.
func chatSlowly(ctx context.Context, c *client.Client, i int, open func(), term <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chat := c.RouteChat(ctx)
	var sender sync.WaitGroup
	sender.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		note := &routeguide.RouteNote{
			Location: &routeguide.Point{Latitude: int32(i), Longitude: 1},
			Message:  fmt.Sprintf("drain %d", i),
		}
		for {
			if chat.Send(note) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	defer sender.Wait()
	defer cancel()
	for _, err := range chat.Replies() {
		if err != nil {
			return err
		}
		open()
	}
	return nil
}
