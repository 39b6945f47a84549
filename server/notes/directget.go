package notes

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
	data    []byte
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
	inbox := s.nc.NewRespInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("%w: read notes: %w", ErrUnavailable, err)
	}
	defer sub.Unsubscribe()
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+s.cfg.Stream, inbox, body); err != nil {
		return fmt.Errorf("%w: read notes: %w", ErrUnavailable, err)
	}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return fmt.Errorf("%w: read notes: %w", ErrUnavailable, err)
		}
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
		if !each(directMsg{seq: seq, subject: msg.Header.Get(jetstream.SubjectHeader), time: t, data: msg.Data}) {
			return nil
		}
	}
}
