package notes

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// A publish retried while its first attempt is still being stored is
// answered "duplicate message id is in process"; a nemesis run saw PostNote
// answer internal for it. Trying again is right: the store keeps one note.
func TestDuplicateInProcessIsTransient(t *testing.T) {
	t.Parallel()
	inProcess := &jetstream.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"}
	wrongSequence := &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("nats: %w", inProcess), true},
		{fmt.Errorf("nats: %w", wrongSequence), false},
	} {
		if got := isTransient(c.err); got != c.want {
			t.Errorf("isTransient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
