package notes

import (
	"context"
	"encoding/json"
	"errors"
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
// leaderNext sends one without Batch to the stream's leader.
type directRequest struct {
	Seq           uint64 `json:"seq,omitempty"`
	NextBySubject string `json:"next_by_subj,omitempty"`
	Batch         int    `json:"batch,omitempty"`
}

// replies routes the answers to direct gets, through one subscription for
// the life of the connection. A subscription per request would be simpler,
// but in a cluster the server that answers may not have learnt of a new
// subscription yet, and would drop the answer.
type replies struct {
	prefix string // of the reply subjects; a token per request follows

	mu sync.Mutex // protects waiting
	// waiting holds, by token, a channel with room for the whole answer of
	// a request: its batch and the status that ends it.
	waiting map[string]chan *nats.Msg
}

func newReplies(nc *nats.Conn) (*replies, error) {
	r := &replies{prefix: nc.NewRespInbox(), waiting: make(map[string]chan *nats.Msg)}
	sub, err := nc.Subscribe(r.prefix+".*", r.route)
	if err != nil {
		return nil, err
	}
	// Batches can be large; never drop a message of one for being slow.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		sub.Unsubscribe()
		return nil, err
	}
	return r, nil
}

// route hands msg to the request waiting for it, never blocking.
func (r *replies) route(msg *nats.Msg) {
	r.mu.Lock()
	answer := r.waiting[msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]]
	r.mu.Unlock()
	select {
	case answer <- msg:
	default: // its request gave up
	}
}

// open returns the token of a new request for batch messages, and the
// channel its answer reaches until close.
func (r *replies) open(batch int) (string, chan *nats.Msg) {
	token, answer := nuid.Next(), make(chan *nats.Msg, max(batch, 1)+1)
	r.mu.Lock()
	r.waiting[token] = answer
	r.mu.Unlock()
	return token, answer
}

func (r *replies) close(token string) {
	r.mu.Lock()
	delete(r.waiting, token)
	r.mu.Unlock()
}

// directGet sends req and calls each for every message of the answer, in
// sequence order, until each returns false or the answer ends.
func (s *JetStream) directGet(ctx context.Context, req directRequest, each func(*jetstream.RawStreamMsg) bool) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("read notes: %w", err)
	}
	token, answer := s.replies.open(req.Batch)
	defer s.replies.close(token)
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+s.cfg.Stream, s.replies.prefix+"."+token, body); err != nil {
		return fmt.Errorf("%w: read notes: %w", ErrUnavailable, err)
	}
	for {
		var msg *nats.Msg
		select {
		case msg = <-answer:
		case <-ctx.Done():
			return fmt.Errorf("%w: read notes: %w", ErrUnavailable, ctx.Err())
		}
		// nats.go puts the status line of a message without payload in
		// these headers.
		switch status := msg.Header.Get("Status"); status {
		case "":
		case "204", "404": // the end of the batch, or nothing there
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
		if !each(&jetstream.RawStreamMsg{Subject: msg.Header.Get(jetstream.SubjectHeader), Sequence: seq, Header: msg.Header, Data: msg.Data, Time: t}) {
			return nil
		}
	}
}

// leaderNext returns the first message of the stream with sequence seq or
// greater, or nil if there is none, as the stream's leader has it. A
// direct get may be answered by any server holding the stream, a follower
// that has not yet applied the latest messages among them; the leader has
// every message it acknowledged. It is one message a round trip: the
// check of a replay, or the note a delete reads, not a replay.
func (s *JetStream) leaderNext(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	body, err := json.Marshal(directRequest{Seq: seq, NextBySubject: s.cfg.Subject + ".>"})
	if err != nil {
		return nil, err
	}
	res, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+s.cfg.Stream, body)
	if err != nil {
		return nil, fmt.Errorf("%w: read notes from the stream's leader: %w", ErrUnavailable, err)
	}
	var answer struct {
		Message *struct {
			Subject string    `json:"subject"`
			Seq     uint64    `json:"seq"`
			Header  []byte    `json:"hdrs"`
			Data    []byte    `json:"data"`
			Time    time.Time `json:"time"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(res.Data, &answer); err != nil {
		return nil, fmt.Errorf("read notes from the stream's leader: %w", err)
	}
	switch {
	case answer.Error != nil && answer.Error.Code == 404:
		return nil, nil
	case answer.Error != nil && answer.Error.Code == 503:
		return nil, fmt.Errorf("%w: read notes from the stream's leader: %w", ErrUnavailable, answer.Error)
	case answer.Error != nil:
		return nil, fmt.Errorf("read notes from the stream's leader: %w", answer.Error)
	case answer.Message == nil:
		return nil, errors.New("read notes from the stream's leader: an answer without a message")
	}
	m := answer.Message
	var header nats.Header
	if len(m.Header) > 0 {
		if header, err = nats.DecodeHeadersMsg(m.Header); err != nil {
			return nil, fmt.Errorf("read notes from the stream's leader: %w", err)
		}
	}
	return &jetstream.RawStreamMsg{Subject: m.Subject, Sequence: m.Seq, Header: header, Data: m.Data, Time: m.Time}, nil
}
