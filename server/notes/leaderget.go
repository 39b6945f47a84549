package notes

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// leaderNext returns the first message of the stream with sequence seq or
// greater, and false if there is none, as the stream's leader has it. A
// direct get may be answered by any server holding the stream, a follower
// that has not yet applied the latest messages among them; the leader has
// every message it acknowledged. It is one message a round trip: the
// check of a replay, not the replay.
func (s *JetStream) leaderNext(ctx context.Context, seq uint64) (directMsg, bool, error) {
	body, err := json.Marshal(struct {
		Seq           uint64 `json:"seq"`
		NextBySubject string `json:"next_by_subj"`
	}{seq, s.cfg.Subject + ".>"})
	if err != nil {
		return directMsg{}, false, err
	}
	res, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+s.cfg.Stream, body)
	if err != nil {
		return directMsg{}, false, fmt.Errorf("%w: read notes from the stream's leader: %w", ErrUnavailable, err)
	}
	var answer struct {
		Message *struct {
			Subject string    `json:"subject"`
			Seq     uint64    `json:"seq"`
			Header  []byte    `json:"hdrs"`
			Data    []byte    `json:"data"`
			Time    time.Time `json:"time"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(res.Data, &answer); err != nil {
		return directMsg{}, false, fmt.Errorf("read notes from the stream's leader: %w", err)
	}
	switch {
	case answer.Error != nil && answer.Error.Code == 404:
		return directMsg{}, false, nil
	case answer.Error != nil && answer.Error.Code == 503:
		return directMsg{}, false, fmt.Errorf("%w: read notes from the stream's leader: %s", ErrUnavailable, answer.Error.Description)
	case answer.Error != nil:
		return directMsg{}, false, fmt.Errorf("read notes from the stream's leader: %d %s", answer.Error.ErrCode, answer.Error.Description)
	case answer.Message == nil:
		return directMsg{}, false, fmt.Errorf("read notes from the stream's leader: an answer without a message")
	}
	m := answer.Message
	var header nats.Header
	if len(m.Header) > 0 {
		if header, err = nats.DecodeHeadersMsg(m.Header); err != nil {
			return directMsg{}, false, fmt.Errorf("read notes from the stream's leader: %w", err)
		}
	}
	return directMsg{seq: m.Seq, subject: m.Subject, time: m.Time, header: header, data: m.Data}, true, nil
}
