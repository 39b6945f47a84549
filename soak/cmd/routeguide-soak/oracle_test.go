package main

import (
	"fmt"
	"strings"
	"testing"
)

// history builds chat logs from windows written as text: one line per
// client, windows separated by "|", each a list of notes "client.seq" at
// location 0. The last note of a window is the one it answers.
func history(t *testing.T, lines ...string) []*chatLog {
	t.Helper()
	var logs []*chatLog
	for c, line := range lines {
		windows := strings.Split(line, "|")
		log := newChatLog(c, make([]int, len(windows)))
		log.sent = len(windows)
		for _, w := range windows {
			for _, n := range strings.Fields(w) {
				var client, seq int
				if _, err := fmt.Sscanf(n, "%d.%d", &client, &seq); err != nil {
					t.Fatalf("note %q: %v", n, err)
				}
				log.receive(newNoteID(client, seq), true, 0)
			}
		}
		logs = append(logs, log)
	}
	return logs
}

func TestCheckChat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		lines          []string
		maxPerLocation int
		full           bool
		// Whether the oracle must find notes lost, duplicated, reordered.
		lost, duplicated, reordered bool
	}{
		{
			name:           "consistent",
			lines:          []string{"0.0 | 0.0 1.0 0.1 | 0.0 1.0 0.1 1.1 0.2", "0.0 1.0 | 0.0 1.0 0.1 1.1"},
			maxPerLocation: 10, full: true,
		},
		{
			name:           "consistent with a full location",
			lines:          []string{"0.0 | 0.0 0.1 | 0.1 0.2 | 0.2 0.3"},
			maxPerLocation: 2, full: true,
		},
		{
			name:           "two notes swapped",
			lines:          []string{"0.0 | 0.0 1.0 0.1", "1.0 | 1.0 0.0 1.1"},
			maxPerLocation: 10, full: false, reordered: true,
		},
		{
			name:           "a client's notes out of its order",
			lines:          []string{"0.0 | 0.1", "0.1 0.0 1.0"},
			maxPerLocation: 10, full: false, reordered: true,
		},
		{
			name:           "own reply missing",
			lines:          []string{"0.0 | | 0.0 0.2"},
			maxPerLocation: 10, full: false, lost: true,
		},
		{
			name:           "note missing from a later window",
			lines:          []string{"0.0 | 0.0 1.0 0.1", "0.0 1.0 | 1.0 0.1 1.1"},
			maxPerLocation: 10, full: true, lost: true,
		},
		{
			name:           "short window allowed under eviction",
			lines:          []string{"0.0 | 0.0 1.0 0.1", "0.0 1.0 | 1.0 0.1 1.1"},
			maxPerLocation: 10, full: false,
		},
		{
			name:           "note twice in a window",
			lines:          []string{"0.0 | 0.0 0.0 0.1"},
			maxPerLocation: 10, full: false, duplicated: true,
		},
		{
			name:           "predecessor gone",
			lines:          []string{"0.0 | 0.1", "1.0 | 1.1"},
			maxPerLocation: 10, full: true, lost: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := checkChat(history(t, tc.lines...), 1, tc.maxPerLocation, tc.full)
			if (r.lost > 0) != tc.lost || (r.duplicated > 0) != tc.duplicated || (r.reordered > 0) != tc.reordered || r.other != 0 {
				t.Errorf("lost %d, duplicated %d, reordered %d, other %d; want some: %v, %v, %v, none\n%s",
					r.lost, r.duplicated, r.reordered, r.other, tc.lost, tc.duplicated, tc.reordered,
					strings.Join(r.examples, "\n"))
			}
		})
	}
}

func TestNoteNames(t *testing.T) {
	t.Parallel()
	run := runID(0xdeadbeef)
	id := newNoteID(63, 1999)
	got, ok := run.noteOf(run.message(id, "..."))
	if !ok || got != id {
		t.Errorf("noteOf(message(%v)) = %v, %v", id, got, ok)
	}
	if _, ok := runID(1).noteOf(run.message(id, "")); ok {
		t.Error("another run's note was taken for this run's")
	}
	for _, i := range []int{0, 1, locationsPerRow - 1, locationsPerRow, 999_999, 2_999_999} {
		p := run.location(i)
		if p.GetLatitude() < -900_000_000 || p.GetLatitude() > 900_000_000 ||
			p.GetLongitude() < -1_800_000_000 || p.GetLongitude() > 1_800_000_000 {
			t.Errorf("location(%d) = %v: out of range", i, p)
		}
		if got, ok := run.locationIndex(p); !ok || got != i {
			t.Errorf("locationIndex(location(%d)) = %d, %v", i, got, ok)
		}
	}
}
