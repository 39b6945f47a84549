package notes_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

func TestAdmissionLimitsPerClientAndInAll(t *testing.T) {
	t.Parallel()
	a := notes.NewAdmission(limits.Limits{MaxWatchesPerClient: 2, MaxWatches: 3})
	acquire := func(client string) (notes.Admitted, error) {
		t.Helper()
		return a.Acquire(client)
	}
	r1, err := acquire("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acquire("alice"); err != nil {
		t.Fatal(err)
	}
	_, err = acquire("alice")
	if !errors.Is(err, notes.ErrTooManyWatches) || !strings.Contains(err.Error(), "one client") || !strings.Contains(err.Error(), "2") {
		t.Errorf("alice's third watch: %v, want a refusal naming the limit per client, 2", err)
	}
	if _, err := acquire("bob"); err != nil {
		t.Fatal(err)
	}
	_, err = acquire("carol")
	if !errors.Is(err, notes.ErrTooManyWatches) || !strings.Contains(err.Error(), "all clients") || !strings.Contains(err.Error(), "3") {
		t.Errorf("a fourth watch in all: %v, want a refusal naming the limit for all, 3", err)
	}
	r1.Release()
	r1.Release() // a second release frees nothing more
	if total, alice := a.Open("alice"); total != 2 || alice != 1 {
		t.Errorf("after one release: %d open, %d by alice; want 2 and 1", total, alice)
	}
	if _, err := acquire("carol"); err != nil {
		t.Errorf("carol after a release: %v", err)
	}
	if _, err := acquire("dave"); err == nil {
		t.Error("admitted a watch past the total again")
	}
}

func TestAdmissionDefaults(t *testing.T) {
	t.Parallel()
	a := notes.NewAdmission(limits.Limits{})
	for i := range limits.Default().MaxWatchesPerClient {
		if _, err := a.Acquire("one"); err != nil {
			t.Fatalf("watch %d: %v", i, err)
		}
	}
	if _, err := a.Acquire("one"); !errors.Is(err, notes.ErrTooManyWatches) {
		t.Errorf("past the default per client: %v", err)
	}
	if got, want := limits.Default().MaxWatches, 65536; got != want {
		t.Errorf("default MaxWatches = %d, want %d (1 GiB of 16 KiB watchers)", got, want)
	}
}

// TestAdmissionConcurrent acquires and releases from many goroutines: the
// counts end at zero and never pass the limits.
func TestAdmissionConcurrent(t *testing.T) {
	t.Parallel()
	a := notes.NewAdmission(limits.Limits{MaxWatchesPerClient: 5, MaxWatches: 20})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			client := fmt.Sprint(g % 4)
			for range 200 {
				admitted, err := a.Acquire(client)
				if err != nil {
					continue
				}
				if total, mine := a.Open(client); total > 20 || mine > 5 {
					t.Errorf("%d open, %d by client %s: past the limits", total, mine, client)
				}
				admitted.Release()
			}
		})
	}
	wg.Wait()
	if total, _ := a.Open("0"); total != 0 {
		t.Errorf("%d watches open after every release", total)
	}
}
