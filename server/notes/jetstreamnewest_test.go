package notes_test

import (
	"sync"
	"testing"

	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server/notes"
)

// TestJetStreamWatchesStartingTogetherShareARequest starts 100 watches at
// once: they share a few requests for the stream's last sequence, rather
// than make one each, which JetStream's count of API requests shows; and
// each still starts after the notes stored before it.
func TestJetStreamWatchesStartingTogetherShareARequest(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	s := openJetStreamAt(t, nats.URL(), suiteLimits{maxPerLocation: 10, buffer: 8, replayLimit: 100})
	if _, err := s.Add(t.Context(), note(1, 1, "before"), notes.Author{}); err != nil {
		t.Fatal(err)
	}
	raw := rawStream(t, nats.URL())
	apiRequests := func() uint64 {
		info, err := raw.AccountInfo(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return info.API.Total
	}
	const watches = 100
	before := apiRequests()
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		watched = make(chan *notes.Watcher, watches)
	)
	for range watches {
		wg.Go(func() {
			<-start
			w, err := s.Watch(t.Context(), notes.WatchOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			watched <- w
		})
	}
	close(start)
	wg.Wait()
	close(watched)
	// One request of the count is AccountInfo's own.
	asked := apiRequests() - before - 1
	t.Logf("%d watches starting together: %d JetStream API requests", watches, asked)
	if asked > watches/4 {
		t.Errorf("%d watches starting together made %d JetStream API requests, want a few", watches, asked)
	}
	if _, err := s.Add(t.Context(), note(1, 1, "after"), notes.Author{}); err != nil {
		t.Fatal(err)
	}
	for w := range watched {
		ev, err := w.Next(t.Context())
		if err != nil || ev.Note.GetMessage() != "after" {
			t.Errorf("a watch's first event = %q, %v; want the note stored after it started", ev.Note.GetMessage(), err)
		}
		w.Close()
	}
}
