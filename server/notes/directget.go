package notes

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// directRequest asks a stream for a batch of messages in sequence order,
// the JetStream API's direct get; nats.go has no call for batches.
type directRequest struct {
	Seq           uint64 `json:"seq,omitempty"`
	NextBySubject string `json:"next_by_subj,omitempty"`
	Batch         int    `json:"batch,omitempty"`
}

// directMsg is one message of a direct get's answer.
type directMsg struct {
	seq     uint64
	subject string
	time    time.Time
	header  nats.Header
	data    []byte
}

// replies routes the answers to direct gets, through one subscription for
// the life of the connection. A subscription per request would be simpler,
// but in a cluster the server that answers may not have learnt of a new
// subscription yet, and would drop the answer.
type replies struct {
	prefix string // of the reply subjects; a token per request follows

	mu      sync.Mutex // protects waiting
	waiting map[string]*replyQueue
}

// replyQueue holds the messages of one request's answer until read.
type replyQueue struct {
	mu     sync.Mutex // protects msgs
	msgs   []*nats.Msg
	signal chan struct{} // has a value when msgs may have grown
}

func newReplies(nc *nats.Conn) (*replies, *nats.Subscription, error) {
	r := &replies{prefix: nc.NewRespInbox(), waiting: make(map[string]*replyQueue)}
	sub, err := nc.Subscribe(r.prefix+".*", r.route)
	if err != nil {
		return nil, nil, err
	}
	// Batches can be large; never drop a message of one for being slow.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		sub.Unsubscribe()
		return nil, nil, err
	}
	return r, sub, nil
}

// route hands msg to the request waiting for it, never blocking.
func (r *replies) route(msg *nats.Msg) {
	token := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
	r.mu.Lock()
	q := r.waiting[token]
	r.mu.Unlock()
	if q == nil {
		return // its request gave up
	}
	q.mu.Lock()
	q.msgs = append(q.msgs, msg)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (r *replies) open() (string, *replyQueue) {
	token := nuid.Next()
	q := &replyQueue{signal: make(chan struct{}, 1)}
	r.mu.Lock()
	r.waiting[token] = q
	r.mu.Unlock()
	return token, q
}

func (r *replies) close(token string) {
	r.mu.Lock()
	delete(r.waiting, token)
	r.mu.Unlock()
}

// next returns the next message of the answer, waiting until ctx is done.
func (q *replyQueue) next(ctx context.Context) (*nats.Msg, error) {
	for {
		q.mu.Lock()
		if len(q.msgs) > 0 {
			msg := q.msgs[0]
			q.msgs[0] = nil
			q.msgs = q.msgs[1:]
			q.mu.Unlock()
			return msg, nil
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// directGet sends req and calls each for every message of the answer, in
// sequence order, until each returns false or the answer ends.
func (s *JetStream) directGet(ctx context.Context, req directRequest, each func(directMsg) bool) error {
	if req.Seq == 0 {
		req.Seq = 1
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("read notes: %w", err)
	}
	token, q := s.replies.open()
	defer s.replies.close(token)
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+s.cfg.Stream, s.replies.prefix+"."+token, body); err != nil {
		return fmt.Errorf("%w: read notes: %w", ErrUnavailable, err)
	}
	for {
		msg, err := q.next(ctx)
		if err != nil {
			return fmt.Errorf("%w: read notes: %w", ErrUnavailable, err)
		}
		// nats.go puts the status line of a message without payload in
		// these headers.
		switch status := msg.Header.Get("Status"); status {
		case "":
		case "204": // end of the batch
			return nil
		case "404": // nothing there
			return nil
		case "503":
			return fmt.Errorf("%w: read notes: %w", ErrUnavailable, nats.ErrNoResponders)
		default:
			return fmt.Errorf("read notes: status %s %s", status, msg.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(msg.Header.Get(jetstream.SequenceHeader), 10, 64)
		if err != nil {
			return fmt.Errorf("read notes: message without a sequence: %w", err)
		}
		t, _ := time.Parse(time.RFC3339Nano, msg.Header.Get(jetstream.TimeStampHeaer))
		if !each(directMsg{seq: seq, subject: msg.Header.Get(jetstream.SubjectHeader), time: t, header: msg.Header, data: msg.Data}) {
			return nil
		}
	}
}
