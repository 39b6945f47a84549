package notes_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// notesStream is the stream a store with defaultSuiteLimits creates.
func notesStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              "ROUTEGUIDE_NOTES",
		Subjects:          []string{"routeguide.notes.>"},
		Storage:           jetstream.FileStorage,
		Replicas:          1,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: int64(defaultSuiteLimits.maxPerLocation),
		MaxBytes:          64 << 20,
		MaxMsgSize:        1<<10 + notes.HeaderAllowance,
		MaxMsgs:           -1,
		AllowDirect:       true,
	}
}

// TestJetStreamRefusesStreamSettings pre-creates the stream with each
// setting that would change what a note means: the store refuses to open,
// naming it.
func TestJetStreamRefusesStreamSettings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		setting string
		change  func(*jetstream.StreamConfig)
		after   func(*jetstream.StreamConfig) // an update, for what cannot be created so
	}{
		{setting: "no_ack", change: func(c *jetstream.StreamConfig) { c.NoAck = true }},
		{setting: "subject_transform", change: func(c *jetstream.StreamConfig) {
			c.SubjectTransform = &jetstream.SubjectTransformConfig{Source: "routeguide.notes.*.*", Destination: "routeguide.notes.{{wildcard(2)}}.{{wildcard(1)}}"}
		}},
		{setting: "sources", change: func(c *jetstream.StreamConfig) { c.Sources = []*jetstream.StreamSource{{Name: "ELSEWHERE"}} }},
		{setting: "mirror", change: func(c *jetstream.StreamConfig) {
			c.Subjects = nil
			c.Mirror = &jetstream.StreamSource{Name: "ELSEWHERE"}
		}},
		{setting: "retention", change: func(c *jetstream.StreamConfig) { c.Retention = jetstream.InterestPolicy }},
		{setting: "discard", change: func(c *jetstream.StreamConfig) { c.Discard = jetstream.DiscardNew }},
		{setting: "deny_delete", change: func(c *jetstream.StreamConfig) { c.DenyDelete = true }},
		{setting: "discard_new_per_subject", change: func(c *jetstream.StreamConfig) {
			c.Discard = jetstream.DiscardNew
			c.DiscardNewPerSubject = true
		}},
		{setting: "republish", change: func(c *jetstream.StreamConfig) {
			c.RePublish = &jetstream.RePublish{Source: ">", Destination: "copy.>"}
		}},
		{setting: "max_age", change: func(c *jetstream.StreamConfig) { c.MaxAge = time.Hour }},
		{setting: "sealed", after: func(c *jetstream.StreamConfig) { c.Sealed = true }},
	} {
		t.Run(c.setting, func(t *testing.T) {
			t.Parallel()
			nats0 := natstest.Start(t)
			js := rawStream(t, nats0.URL())
			if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "ELSEWHERE", Subjects: []string{"elsewhere.>"}}); err != nil {
				t.Fatal(err)
			}
			cfg := notesStream()
			if c.change != nil {
				c.change(&cfg)
			}
			if _, err := js.CreateStream(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			if c.after != nil {
				c.after(&cfg)
				if _, err := js.UpdateStream(t.Context(), cfg); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			s, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{URLs: nats0.URL(), Limits: limits.Limits{MaxNotesPerLocation: defaultSuiteLimits.maxPerLocation}})
			if err == nil {
				s.Close()
				t.Fatalf("opened a store on a stream with %s set", c.setting)
			}
			if !containsAll(err, "ROUTEGUIDE_NOTES", c.setting) {
				t.Errorf("error %q does not name %s", err, c.setting)
			}
		})
	}
}

// TestJetStreamGrowsAnOldStreamsMessageSize opens a store on a stream made
// before notes had authors, with room for less header: the store raises
// the stream's maximum message size, and a note by a long-named author of
// the longest text fits.
func TestJetStreamGrowsAnOldStreamsMessageSize(t *testing.T) {
	t.Parallel()
	nats0 := natstest.Start(t)
	js := rawStream(t, nats0.URL())
	old := notesStream()
	old.MaxMsgSize = 1<<10 + 128
	if _, err := js.CreateStream(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	s := openJetStreamAt(t, nats0.URL(), defaultSuiteLimits)
	by := notes.Author{ID: strings.Repeat("i", notes.MaxAuthorIDBytes), Name: strings.Repeat("n", notes.MaxAuthorNameBytes)}
	if _, err := s.Add(t.Context(), note(1, 1, strings.Repeat("x", 1<<10)), by); err != nil {
		t.Fatalf("the longest note by the longest author: %v", err)
	}
}
