package notes_test

import (
	"testing"

	"github.com/routeguide/routeguide/server/notes"
)

// TestRedactURLs: no password or token of a NATS URL survives redaction,
// so that none reaches a log line or an error.
func TestRedactURLs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"nats://alice:s3cret@a:4222,nats://b:4222", "nats://alice:xxxxx@a:4222,nats://b:4222"},
		{"nats://s3cret-token@a:4222", "nats://xxxxx@a:4222"},
		{"tls://a:4222", "tls://a:4222"},
	} {
		if got := notes.RedactURLs(c.in); got != c.want {
			t.Errorf("RedactURLs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
