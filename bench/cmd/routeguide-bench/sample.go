package main

import (
	"fmt"
	"slices"
	"time"
)

// sample is one measured run against one server.
type sample struct {
	rate     float64       // operations (requests, messages or points) a second
	p50, p99 time.Duration // latency of a call, or of a reply for RouteChat
	cpuPerOp time.Duration // server CPU time per operation
	rss      int64         // server resident memory after the run

	writesPerOp float64 // the server's write system calls per operation, sockets and log alike
}

// measure runs load against p and fills in the server's CPU per operation
// and memory. load returns how many operations it completed.
func measure(p *process, load func() (ops float64, s sample, err error)) (sample, error) {
	before, err := p.cpuTime()
	if err != nil {
		return sample{}, err
	}
	writesBefore, err := p.writeCalls()
	if err != nil {
		return sample{}, err
	}
	ops, s, err := load()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", p.name, err)
	}
	after, err := p.cpuTime()
	if err != nil {
		return sample{}, err
	}
	writesAfter, err := p.writeCalls()
	if err != nil {
		return sample{}, err
	}
	if ops > 0 {
		s.cpuPerOp = time.Duration(float64(after-before) / ops)
		s.writesPerOp = float64(writesAfter-writesBefore) / ops
	}
	s.rss, err = p.rss()
	return s, err
}

func percentiles(latencies []time.Duration) (p50, p99 time.Duration) {
	if len(latencies) == 0 {
		return 0, 0
	}
	slices.Sort(latencies)
	at := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	return at(0.50), at(0.99)
}
