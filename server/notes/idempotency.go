package notes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nuid"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// MaxIdempotencyKeyBytes bounds an idempotency key: a UUID, a ULID or a
// random token of up to 128 bytes of visible ASCII.
const MaxIdempotencyKeyBytes = 128

// CheckIdempotencyKey reports whether key can name a call: 1 to
// [MaxIdempotencyKeyBytes] of visible ASCII characters, no spaces.
func CheckIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKeyBytes {
		return fmt.Errorf("is %d bytes long: want 1 to %d, such as a UUID", len(key), MaxIdempotencyKeyBytes)
	}
	if strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return errors.New("holds a character that is not visible ASCII: want letters, digits and punctuation, such as a UUID")
	}
	return nil
}

type idempotencyKey struct{}

// WithIdempotencyKey returns ctx carrying key, which the caller has checked
// with [CheckIdempotencyKey]: the key its client chose for one call, and
// sends again with every retry of it. A [JetStream] store that is given the
// same key, author, location and text again within the stream's duplicate
// window (2 minutes) stores the note once and answers as it did the first
// time, whichever replica takes the call: an HTTP/2 client resends a call
// whose stream its proxy refused after a replica died with it (HAProxy
// does), and would otherwise store the note twice. A [Memory] store, one
// process with no proxy between replicas, ignores it.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// messageID returns the JetStream message ID under which note is stored:
// the same for every call carrying the same idempotency key, author,
// location and text, so that JetStream stores it once, and a fresh one
// for a call without a key. The note is part of it so that a key sent
// again by mistake with another note does not swallow that note.
func messageID(ctx context.Context, note *routeguide.RouteNote, author Author) string {
	key, _ := ctx.Value(idempotencyKey{}).(string)
	if key == "" {
		return nuid.Next()
	}
	h := sha256.New()
	for _, part := range []string{key, author.ID, locationText(note.GetLocation()), note.GetMessage()} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	return "note-" + hex.EncodeToString(h.Sum(nil)[:16])
}
