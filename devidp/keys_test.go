package devidp

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ids returns the IDs of the keys the ring publishes, current first.
func ids(r *keyRing) []string {
	var ids []string
	for _, k := range r.public() {
		ids = append(ids, k.ID())
	}
	return ids
}

func TestKeyRingRotatesWhenDue(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r, err := newKeyRing(time.Minute, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		first, err := r.signer()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute - time.Nanosecond)
		if k, _ := r.signer(); k.ID() != first.ID() {
			t.Fatalf("key changed before it was due")
		}
		time.Sleep(time.Nanosecond)
		second, err := r.signer()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{second.ID(), first.ID()}, ids(r)); diff != "" || second.ID() == first.ID() {
			t.Errorf("published keys a minute later, want a new key then the old (-want +got):\n%s", diff)
		}
	})
}

func TestKeyRingDropsKeysWhoseTokensExpired(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r, err := newKeyRing(0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		first := r.current.id
		if err := r.rotate(); err != nil {
			t.Fatal(err)
		}
		second := r.current.id
		time.Sleep(time.Hour - time.Nanosecond)
		if err := r.rotate(); err != nil {
			t.Fatal(err)
		}
		third := r.current.id
		if diff := cmp.Diff([]string{third, second, first}, ids(r)); diff != "" {
			t.Errorf("a token of the first key may still be valid (-want +got):\n%s", diff)
		}
		time.Sleep(time.Nanosecond)
		if err := r.rotate(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{r.current.id, third, second}, ids(r)); diff != "" {
			t.Errorf("every token of the first key has expired (-want +got):\n%s", diff)
		}
	})
}
