package transport

import (
	"sync"
	"time"
)

const errShuttingDown = "the server is shutting down: call again, another server will answer"

// drainWriteGrace is how long a draining stream blocked on a client that
// does not read gets to take its last message before it is reset. A client
// that reads only slowly must get through what its flow-control window
// holds in that time to see the stream end with unavailable: 500 ms was too
// short on a loaded machine, where such clients were reset instead. It is
// well within the default --shutdown-timeout of 10 s.
const drainWriteGrace = 2 * time.Second

// openStreams keeps track of the streams in progress, so that they can be
// ended promptly when the server drains. Unary calls are not in it: they
// go on through a drain.
type openStreams struct {
	mu       sync.Mutex // protects draining and lives
	draining bool
	lives    map[*callLife]struct{}
}

// open registers a stream, unless the server is draining.
func (o *openStreams) open(l *callLife) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.draining {
		return false
	}
	if o.lives == nil {
		o.lives = make(map[*callLife]struct{})
	}
	o.lives[l] = struct{}{}
	return true
}

func (o *openStreams) close(l *callLife) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.lives, l)
}

// drain refuses new streams and ends the open ones.
func (o *openStreams) drain() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.draining = true
	for l := range o.lives {
		l.drain()
	}
}
