package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/routeguide/routeguide/bench/internal/chatload"
	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// runRecordRoute sends routes of route's points on streams concurrent
// calls for d, over gRPC, and reports points a second.
func runRecordRoute(ctx context.Context, url string, route []*routeguide.Point, streams int, d time.Duration) (float64, sample, error) {
	c, err := client.New(url, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return 0, sample{}, err
	}
	return runCalls(ctx, streams, d, func(ctx context.Context) (float64, error) {
		summary, err := c.RecordRoute(ctx, slices.Values(route))
		if err != nil {
			return 0, err
		}
		if int(summary.GetPointCount()) != len(route) {
			return 0, fmt.Errorf("RecordRoute counted %d points, sent %d", summary.GetPointCount(), len(route))
		}
		return float64(len(route)), nil
	})
}

// runCalls makes call on workers goroutines until d has passed and
// reports operations a second and the latency of a call.
func runCalls(ctx context.Context, workers int, d time.Duration, call func(context.Context) (float64, error)) (float64, sample, error) {
	deadline := time.Now().Add(d)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		ops       float64
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var mine []time.Duration
			var n float64
			for time.Now().Before(deadline) {
				t := time.Now()
				k, err := call(ctx)
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
				n += k
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			ops += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, sample{}, firstErr
	}
	s := sample{rate: ops / time.Since(start).Seconds()}
	s.p50, s.p99 = percentiles(latencies)
	return ops, s, nil
}

func cmpOr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// runRouteChat keeps streams chats busy for d (see [chatload.Run]) and
// reports replies a second.
func runRouteChat(ctx context.Context, url string, streams int, d time.Duration) (float64, sample, error) {
	replies, elapsed, err := chatload.Run(ctx, url, streams, d)
	if err != nil {
		return 0, sample{}, err
	}
	n := float64(replies)
	return n, sample{rate: n / elapsed.Seconds()}, nil
}

// runPingPong sends one note at a time on a single chat and waits for its
// reply: the latency of a lone message, which coalesced flushes must not
// hold back.
func runPingPong(ctx context.Context, url string, count int) (float64, sample, error) {
	c, err := client.New(url, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return 0, sample{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chat := c.RouteChat(ctx)
	latencies := make([]time.Duration, 0, count)
	start := time.Now()
	base := int32(time.Now().UnixNano() % 1e6)
	for i := range count {
		t := time.Now()
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: -base, Longitude: int32(i)}, Message: "ping"}
		if err := chat.Send(note); err != nil {
			return 0, sample{}, err
		}
		if _, err := chat.Receive(); err != nil {
			return 0, sample{}, err
		}
		latencies = append(latencies, time.Since(t))
	}
	chat.CloseSend()
	s := sample{rate: float64(count) / time.Since(start).Seconds()}
	s.p50, s.p99 = percentiles(latencies)
	return float64(count), s, nil
}
