package notes_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

func TestJetStreamRefusesAConflictingStream(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	openJetStreamAt(t, nats.URL(), suiteLimits{maxPerLocation: 3})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{URLs: nats.URL(), Limits: limits.Limits{MaxNotesPerLocation: 5}})
	if err == nil {
		s.Close()
		t.Fatal("opened a store whose limits differ from its stream's")
	}
	for _, want := range []string{"ROUTEGUIDE_NOTES", "max_msgs_per_subject is 3, want 5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestJetStreamKeepsNotesAcrossReopen(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	first := openJetStreamAt(t, nats.URL(), defaultSuiteLimits)
	add(t, first, note(5, 5, "kept"))
	first.Close()
	nats.Stop()
	nats.Restart()
	second := openJetStreamAt(t, nats.URL(), defaultSuiteLimits)
	if got, want := add(t, second, note(5, 5, "again")), []string{"kept", "again"}; !slices.Equal(got, want) {
		t.Errorf("after a restart of NATS and the store: %q, want %q", got, want)
	}
}

// TestJetStreamStoresShareNotes is several replicas on one stream: a note
// added through one is in the reply through another, and in the feed of a
// third.
func TestJetStreamStoresShareNotes(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a := openJetStreamAt(t, nats.URL(), defaultSuiteLimits)
	b := openJetStreamAt(t, nats.URL(), defaultSuiteLimits)
	c := openJetStreamAt(t, nats.URL(), defaultSuiteLimits)
	w, err := c.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	add(t, a, note(1, 1, "from a"))
	if got, want := add(t, b, note(1, 1, "from b")), []string{"from a", "from b"}; !slices.Equal(got, want) {
		t.Errorf("b replied %q, want %q", got, want)
	}
	for _, want := range []string{"from a", "from b"} {
		if got := next(t, w).Note.GetMessage(); got != want {
			t.Errorf("c's watcher got %q, want %q", got, want)
		}
	}
}

// TestJetStreamUnavailableThenBack stops NATS under an open store: it says
// it is unavailable, cuts its watchers off, and works again once NATS is
// back, with the notes it had.
func TestJetStreamUnavailableThenBack(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	s := openJetStreamAt(t, nats.URL(), defaultSuiteLimits)
	add(t, s, note(2, 2, "before"))
	w, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	nats.Stop()
	if _, err := w.Next(t.Context()); !errors.Is(err, notes.ErrUnavailable) {
		t.Errorf("watcher got %v, want ErrUnavailable", err)
	}
	if err := s.Available(); !errors.Is(err, notes.ErrUnavailable) {
		t.Errorf("Available() = %v, want ErrUnavailable", err)
	}
	if _, err := s.Add(t.Context(), note(2, 2, "lost"), notes.Author{}); !errors.Is(err, notes.ErrUnavailable) {
		t.Errorf("Add = %v, want ErrUnavailable", err)
	}
	if _, err := s.Watch(t.Context(), notes.WatchOptions{}); !errors.Is(err, notes.ErrUnavailable) {
		t.Errorf("Watch = %v, want ErrUnavailable", err)
	}

	nats.Restart()
	eventually(t, 10*time.Second, "back after NATS", func() bool { return s.Available() == nil })
	w, err = s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got, want := add(t, s, note(2, 2, "after")), []string{"before", "after"}; !slices.Equal(got, want) {
		t.Errorf("after reconnecting: %q, want %q", got, want)
	}
	if got := next(t, w).Note.GetMessage(); got != "after" {
		t.Errorf("watcher after reconnecting got %q", got)
	}
}

// TestJetStreamClusterLosesNoAcknowledgedNote posts notes through three
// stores on a three-node cluster with R3, and kills the node that leads the
// stream partway through: every note that Add acknowledged must be there,
// once, in the order of the acknowledgements of each writer.
func TestJetStreamClusterLosesNoAcknowledgedNote(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("elections take seconds")
	}
	cluster := natstest.StartCluster(t, 3)
	open := func() *notes.JetStream {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		s, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{
			URLs: cluster.URLs(), Replicas: 3, Limits: limits.Limits{MaxNotesPerLocation: 1000}, Timeout: 20 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	stores := []*notes.JetStream{open(), open(), open()}

	// A watcher follows the stream through the kill, resuming by sequence
	// whenever it is cut off.
	watched := make(chan string, 1000)
	watchCtx, stopWatching := context.WithCancel(t.Context())
	var watching sync.WaitGroup
	defer func() { stopWatching(); watching.Wait() }()
	w, err := stores[2].Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	watching.Go(func() {
		last := w.Start()
		for {
			ev, err := w.Next(watchCtx)
			if err == nil {
				watched <- ev.Note.GetMessage()
				last = ev.Seq
				continue
			}
			w.Close()
			for {
				if watchCtx.Err() != nil {
					return
				}
				if w, err = stores[2].Watch(watchCtx, notes.WatchOptions{After: &last}); err == nil {
					break
				}
				// Not a wait: the watcher's back-off before it tries the
				// replica again, its behaviour as a client.
				select {
				case <-watchCtx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	})

	const perWriter = 30
	acked := make([][]string, len(stores))
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			for j := range perWriter {
				if i == 0 && j == perWriter/3 {
					killStreamLeader(t, cluster)
					close(killed)
				}
				msg := fmt.Sprintf("%d-%d", i, j)
				if _, err := s.Add(t.Context(), note(9, 9, msg), notes.Author{}); err != nil {
					t.Logf("note %s not acknowledged: %v", msg, err)
					continue
				}
				acked[i] = append(acked[i], msg)
			}
		})
	}
	wg.Wait()
	<-killed

	got := add(t, stores[1], note(9, 9, "last"))
	watchedTimes := make(map[string]int)
	// Generous: the watcher's consumer follows a new stream leader, which a
	// loaded machine can take well past the usual few seconds to elect.
	for timeout := time.After(30 * time.Second); watchedTimes["last"] == 0; {
		select {
		case m := <-watched:
			watchedTimes[m]++
		case <-timeout:
			t.Fatalf("the watcher did not see the last note in 30s; it saw %v", watchedTimes)
		}
	}
	seen := make(map[string]int)
	for _, m := range got {
		seen[m]++
	}
	for i, msgs := range acked {
		if len(msgs) < perWriter/2 {
			t.Errorf("writer %d had only %d of %d notes acknowledged", i, len(msgs), perWriter)
		}
		var order []string
		for _, m := range got {
			if strings.HasPrefix(m, fmt.Sprintf("%d-", i)) {
				order = append(order, m)
			}
		}
		for _, m := range msgs {
			if seen[m] != 1 {
				t.Errorf("acknowledged note %s is stored %d times", m, seen[m])
			}
			if watchedTimes[m] != 1 {
				t.Errorf("acknowledged note %s was watched %d times", m, watchedTimes[m])
			}
		}
		// Unacknowledged notes may be stored too; the acknowledged ones
		// keep their order among them.
		if !isSubsequence(msgs, order) {
			t.Errorf("writer %d: acknowledged %q, stored in the order %q", i, msgs, order)
		}
	}
}

func isSubsequence(sub, seq []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

// killStreamLeader stops the node that leads the notes stream.
func killStreamLeader(t *testing.T, cluster natstest.Cluster) {
	for _, n := range cluster {
		srv := n.Server()
		if srv == nil {
			continue
		}
		if leader := srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, "ROUTEGUIDE_NOTES"); leader {
			t.Logf("killing %s, the stream's leader", srv.Name())
			n.Stop()
			return
		}
	}
	t.Error("no node leads the stream")
}

// TestJetStreamUserAndPassword connects with the user and password in the
// URL, and names the failure, without the password, when they are wrong; it
// gives up once the NATS client has, not when ctx ends.
func TestJetStreamUserAndPassword(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t, func(o *server.Options) { o.Username, o.Password = "routeguide", "s3cret" })
	withUser := func(password string) string {
		return strings.Replace(nats.URL(), "nats://", "nats://routeguide:"+password+"@", 1)
	}
	s := openJetStreamAt(t, withUser("s3cret"), defaultSuiteLimits)
	add(t, s, note(1, 1, "signed in"))

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	start := time.Now()
	bad, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{URLs: withUser("wrong")})
	if err == nil {
		bad.Close()
		t.Fatal("opened a store with a wrong password")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v to give up on a refused password", took)
	}
	if errors.Is(err, notes.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q says NATS is out of reach, not that it refused", err)
	}
	if !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		t.Errorf("error %q does not say authorization failed", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q shows the password", err)
	}
}

// Replicas that start together against a cluster without the stream race to
// create it; every one must open, whichever wins.
func TestJetStreamReplicasStartTogether(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("cluster placement takes seconds")
	}
	cluster := natstest.StartCluster(t, 3)
	var opening sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		opening.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			s, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{
				URLs: cluster.URLs(), Replicas: 3, Limits: limits.Limits{MaxNotesPerLocation: 10}, Timeout: 5 * time.Second,
			})
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	opening.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a replica starting with the others: %v", err)
		}
	}
}
