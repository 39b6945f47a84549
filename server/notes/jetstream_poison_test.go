package notes_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// rawStream connects to NATS at url as another client of the stream
// would, to put there what the store would never write.
func rawStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// eventually waits until cond holds, failing the test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("not %s within %v", what, d)
		}
	}
}

// TestJetStreamSkipsPoisonMessages puts messages the store did not write
// into its stream: a text that is not UTF-8, a foreign subject, bad author
// headers, a deletion marker for nothing. Add at their location, the feed
// and a replay all go on past them, and the feed counts them.
func TestJetStreamSkipsPoisonMessages(t *testing.T) {
	t.Parallel()
	nats0 := natstest.Start(t)
	s := openJetStreamAt(t, nats0.URL(), suiteLimits{maxPerLocation: 10, buffer: 8, replayLimit: 100})
	live, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	add(t, s, note(5, 5, "before"))

	js := rawStream(t, nats0.URL())
	poison := []*nats.Msg{
		{Subject: "routeguide.notes.5.5", Data: []byte("bad \xff utf-8")},
		{Subject: "routeguide.notes.5.5.5", Data: []byte("foreign subject")},
		{Subject: "routeguide.notes.north.pole", Data: []byte("foreign subject")},
		{Subject: "routeguide.notes.5.5", Data: []byte("bad author"), Header: nats.Header{"Routeguide-Author-Id": {"no spaces allowed"}}},
		{Subject: "routeguide.notes.5.5", Data: []byte("bad name"), Header: nats.Header{"Routeguide-Author-Id": {"x"}, "Routeguide-Author-Name": {"%zz"}}},
		{Subject: "routeguide.notes.deleted", Header: nats.Header{"Routeguide-Deleted": {"not a number"}}},
	}
	for _, m := range poison {
		if _, err := js.PublishMsg(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := add(t, s, note(5, 5, "after")), []string{"before", "after"}; !slices.Equal(got, want) {
		t.Errorf("Add at the poisoned location replies %q, want %q", got, want)
	}
	for _, want := range []string{"before", "after"} {
		if got := next(t, live).Note.GetMessage(); got != want {
			t.Errorf("feed gave %q, want %q", got, want)
		}
	}
	after := uint64(0)
	replay, err := s.Watch(t.Context(), notes.WatchOptions{After: &after})
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	for _, want := range []string{"before", "after"} {
		if got := next(t, replay).Note.GetMessage(); got != want {
			t.Errorf("replay gave %q, want %q", got, want)
		}
	}
	if got, want := s.Stats().Skipped, uint64(len(poison)); got != want {
		t.Errorf("Stats().Skipped = %d, want %d", got, want)
	}
}

// TestJetStreamStoresShareAuthorsAndDeletions has two replicas on one
// stream: a note posted through one carries its author through the other,
// and a deletion through one reaches the other's watchers, live.
func TestJetStreamStoresShareAuthorsAndDeletions(t *testing.T) {
	t.Parallel()
	nats0 := natstest.Start(t)
	a := openJetStreamAt(t, nats0.URL(), defaultSuiteLimits)
	b := openJetStreamAt(t, nats0.URL(), defaultSuiteLimits)
	w, err := b.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	by := notes.Author{ID: "id-1", Name: "Grace Hopper"}
	if _, err := a.Add(t.Context(), note(3, 4, "hello"), by); err != nil {
		t.Fatal(err)
	}
	posted := next(t, w)
	if posted.Author != by {
		t.Errorf("b's watcher got the note by %+v, want %+v", posted.Author, by)
	}
	if _, err := a.Delete(t.Context(), posted.Seq); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev.Deleted != posted.Seq {
		t.Errorf("b's watcher got %+v, want the deletion of %d", ev, posted.Seq)
	}
	if a.Epoch() != b.Epoch() {
		t.Errorf("replicas of one stream have epochs %q and %q", a.Epoch(), b.Epoch())
	}
}

// TestJetStreamStreamDeletedUnderTheServer deletes the stream under a
// running store: it is created again within moments, the watchers of the
// old one are cut off and their resumes refused, and notes go on.
func TestJetStreamStreamDeletedUnderTheServer(t *testing.T) {
	t.Parallel()
	nats0 := natstest.Start(t)
	s := openJetStreamFast(t, nats0.URL(), nil)
	add(t, s, note(1, 1, "old life"))
	w, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	oldEpoch := s.Epoch()

	if err := rawStream(t, nats0.URL()).DeleteStream(t.Context(), "ROUTEGUIDE_NOTES"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a new epoch", func() bool { return s.Epoch() != oldEpoch && s.Available() == nil })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := w.Next(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("the old life's watcher got %v, want it cut off", err)
	}
	after := uint64(1)
	if _, err := s.Watch(t.Context(), notes.WatchOptions{After: &after, Epoch: oldEpoch}); err == nil {
		t.Error("a resume from the old life was accepted")
	}
	w, err = s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now()
	if got, want := add(t, s, note(1, 1, "new life")), []string{"new life"}; !slices.Equal(got, want) {
		t.Errorf("Add in the new stream replies %q, want %q", got, want)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Add took %v in the new stream", took)
	}
	if got := next(t, w).Note.GetMessage(); got != "new life" {
		t.Errorf("watcher of the new life got %q", got)
	}
}

// TestJetStreamFollowsANewStreamOnceItCan: the stream is deleted and
// created again with room for one consumer, which another client takes
// before the store can follow it. The store must stay unavailable, not
// serve a feed that follows nothing, and follow the new stream once the
// room is free: a watcher then sees what is posted.
func TestJetStreamFollowsANewStreamOnceItCan(t *testing.T) {
	t.Parallel()
	nats0 := natstest.Start(t)
	logs := make(logRecords, 1000)
	s := openJetStreamFast(t, nats0.URL(), func(c *notes.JetStreamConfig) { c.Logger = slog.New(logs) })
	oldEpoch := s.Epoch()
	js := rawStream(t, nats0.URL())
	stream, err := js.Stream(t.Context(), "ROUTEGUIDE_NOTES")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	cfg.MaxConsumers = 1
	for try := 0; ; try++ {
		if err := js.DeleteStream(t.Context(), cfg.Name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Fatal(err)
		}
		// The store's probe may create the stream, or take its one
		// consumer, first: then again.
		stream, err := js.CreateStream(t.Context(), cfg)
		if err == nil {
			_, err = stream.CreateConsumer(t.Context(), jetstream.ConsumerConfig{Durable: "taken"})
		}
		if err == nil {
			break
		}
		if try == 20 || !(errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || errors.Is(err, jetstream.ErrMaximumConsumersLimit) ||
			isStoreCreateError(err)) {
			t.Fatal(err)
		}
	}
	for len(logs) > 0 {
		<-logs // what the probes said while the stream was set up
	}

	// Every probe finds the stream new and tries to follow it, in vain;
	// from the second on, the store has been unavailable since the first.
	const tryingAgain = "notes store: the stream was created again; following the new one"
	for tries := 0; tries < 3; {
		select {
		case msg := <-logs:
			if msg != tryingAgain {
				continue
			}
			if tries++; tries > 1 && s.Available() == nil {
				t.Fatal("available while it cannot follow the stream")
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the store tried to follow the new stream %d times, then stopped", tries)
		}
	}

	if err := js.DeleteConsumer(t.Context(), cfg.Name, "taken"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "following the new stream", func() bool { return s.Available() == nil && s.Epoch() != oldEpoch })
	w, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	add(t, s, note(1, 1, "new life"))
	if got := next(t, w).Note.GetMessage(); got != "new life" {
		t.Errorf("watcher of the new life got %q", got)
	}
}

// logRecords is a slog.Handler that passes the message of each record on,
// dropping it when full rather than holding the store up.
type logRecords chan string

func (r logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (r logRecords) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r logRecords) WithGroup(string) slog.Handler            { return r }
func (r logRecords) Handle(_ context.Context, rec slog.Record) error {
	select {
	case r <- rec.Message:
	default:
	}
	return nil
}

// TestJetStreamStreamChangedUnderTheServer changes a setting of the stream
// under a running store: it refuses service, naming the setting, until
// the setting is changed back.
func TestJetStreamStreamChangedUnderTheServer(t *testing.T) {
	t.Parallel()
	nats0 := natstest.Start(t)
	s := openJetStreamFast(t, nats0.URL(), nil)
	js := rawStream(t, nats0.URL())
	stream, err := js.Stream(t.Context(), "ROUTEGUIDE_NOTES")
	if err != nil {
		t.Fatal(err)
	}
	good := stream.CachedInfo().Config
	bad := good
	bad.NoAck = true
	if _, err := js.UpdateStream(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "unavailable", func() bool { return s.Available() != nil })
	if err := s.Available(); !containsAll(err, "no_ack", "ROUTEGUIDE_NOTES") {
		t.Errorf("Available() = %v, want it to name no_ack", err)
	}
	if _, err := s.Add(t.Context(), note(1, 1, "x"), notes.Author{}); err == nil {
		t.Error("stored a note in a stream that does not acknowledge")
	}
	if _, err := js.UpdateStream(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "available again", func() bool { return s.Available() == nil })
	add(t, s, note(1, 1, "back"))
}

func containsAll(err error, words ...string) bool {
	if err == nil {
		return false
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			return false
		}
	}
	return true
}

// openJetStreamFast opens a store at url that probes NATS often, with
// adjust applied to its configuration.
func openJetStreamFast(t *testing.T, url string, adjust func(*notes.JetStreamConfig)) *notes.JetStream {
	t.Helper()
	cfg := notes.JetStreamConfig{
		URLs:          url,
		Limits:        limits.Limits{MaxNotesPerLocation: 10, WatchBuffer: 8, MaxReplay: 100},
		Timeout:       5 * time.Second,
		ProbeInterval: 100 * time.Millisecond,
		ProbeTimeout:  time.Second,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := notes.OpenJetStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// isStoreCreateError reports JetStream's "error creating store for
// stream" (10049), which a create answers while the files of the stream
// deleted just before, or created by the store's probe at the same moment,
// are still in the way: the test's setup tries again.
func isStoreCreateError(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 10049
}
