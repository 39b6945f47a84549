package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/routeguide/routeguide/server/geo"
)

// TestCheckHistory feeds the nemesis checker histories with one fault
// each, and a clean one, and checks it counts exactly that fault.
func TestCheckHistory(t *testing.T) {
	t.Parallel()
	west, east := geo.Point{Latitude: 10, Longitude: 10}, geo.Point{Latitude: 10, Longitude: 50}
	westArea := &geo.Bounds{MinLatitude: 0, MaxLatitude: 20, MinLongitude: 0, MaxLongitude: 20}
	acked := []ackedNote{{"a", west, "poster-0"}, {"b", east, "chatter-0"}, {"c", west, "poster-1"}}
	all := []delivery{{"a", west, 1, 0}, {"b", east, 2, 0}, {"c", west, 3, 0}}
	westOnly := []delivery{{"a", west, 1, 0}, {"c", west, 3, 0}}
	watchers := func(world, area []delivery) []watcherHistory {
		return []watcherHistory{{name: "world", deliveries: world}, {name: "area", area: westArea, deliveries: area}}
	}
	ok := callRecord{procedure: "PostNote", by: "poster-0", deadline: 5 * time.Second, elapsed: 6 * time.Second}

	tests := []struct {
		name    string
		h       nemesisHistory
		want    verdict
		example string // a substring of the one example wanted, if any
	}{
		{
			name: "clean",
			h:    nemesisHistory{acked: acked, watchers: watchers(all, westOnly), calls: []callRecord{ok}},
			want: verdict{acknowledged: 3, checked: 5},
		},
		{
			// A note stored but not acknowledged may be delivered, or not.
			name: "unacknowledged note delivered",
			h:    nemesisHistory{acked: acked[:2], watchers: watchers(all, westOnly[:1])},
			want: verdict{acknowledged: 2, checked: 3},
		},
		{
			name:    "lost by a world watcher",
			h:       nemesisHistory{acked: acked, watchers: watchers([]delivery{all[0], all[2]}, westOnly)},
			want:    verdict{acknowledged: 3, checked: 5, lost: 1},
			example: `lost: world never got acknowledged note "b" (seen by no watcher; 1 lost`,
		},
		{
			name:    "lost by an area watcher, seen by another",
			h:       nemesisHistory{acked: acked, watchers: watchers(all, westOnly[:1])},
			want:    verdict{acknowledged: 3, checked: 5, lost: 1},
			example: `lost: area never got acknowledged note "c" (sequence 3, seen by another watcher; its feed went from sequence 1 on call 0 to the end`,
		},
		{
			name:    "lost across a resume",
			h:       nemesisHistory{acked: acked, watchers: watchers(all, []delivery{westOnly[0], {"d", west, 4, 1}})},
			want:    verdict{acknowledged: 3, checked: 5, lost: 1},
			example: `its feed went from sequence 1 on call 0 to sequence 4 on call 1`,
		},
		{
			name:    "duplicate after a resume",
			h:       nemesisHistory{acked: acked, watchers: watchers(all, []delivery{westOnly[0], westOnly[1], westOnly[1]})},
			want:    verdict{acknowledged: 3, checked: 5, duplicates: 1},
			example: `duplicate: area got "c" again at sequence 3 (first at 3)`,
		},
		{
			name:    "duplicate stored twice",
			h:       nemesisHistory{acked: acked, watchers: watchers(append(all, delivery{"a", west, 4, 0}), westOnly)},
			want:    verdict{acknowledged: 3, checked: 5, duplicates: 1},
			example: `duplicate: world got "a" again at sequence 4 (first at 1)`,
		},
		{
			name:    "reordered",
			h:       nemesisHistory{acked: acked, watchers: watchers([]delivery{all[1], all[0], all[2]}, westOnly)},
			want:    verdict{acknowledged: 3, checked: 5, outOfOrder: 1},
			example: `out of order: world got sequence 1 ("a") after 2`,
		},
		{
			name:    "outside the area",
			h:       nemesisHistory{acked: acked, watchers: watchers(all, all)},
			want:    verdict{acknowledged: 3, checked: 5, misplaced: 1},
			example: `misplaced: area got "b"`,
		},
		{
			name: "hung past its deadline",
			h: nemesisHistory{acked: acked, watchers: watchers(all, westOnly), calls: []callRecord{
				ok, {procedure: "WatchNotes", by: "area", deadline: 5 * time.Second, elapsed: 7*time.Second + time.Millisecond},
			}},
			want:    verdict{acknowledged: 3, checked: 5, hung: 1},
			example: `hung: WatchNotes by area at +0s: returned after 7.001s, deadline 5s`,
		},
		{
			name: "still running at the end",
			h: nemesisHistory{acked: acked, watchers: watchers(all, westOnly), calls: []callRecord{
				{procedure: "RouteChat", by: "chatter-1", deadline: time.Second, elapsed: time.Minute, unfinished: true},
			}},
			want:    verdict{acknowledged: 3, checked: 5, hung: 1},
			example: `hung: RouteChat by chatter-1 at +0s: still running after 1m0s`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := checkHistory(tt.h, 2*time.Second)
			examples := got.examples
			got.examples = nil
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(verdict{})); diff != "" {
				t.Errorf("checkHistory (-want +got):\n%s", diff)
			}
			if tt.example == "" {
				if len(examples) != 0 {
					t.Errorf("examples %q, want none", examples)
				}
				return
			}
			if len(examples) != 1 || !strings.Contains(examples[0], tt.example) {
				t.Errorf("examples %q, want one containing %q", examples, tt.example)
			}
		})
	}
}

// TestCheckHistoryExamplesBounded checks that a run losing many notes
// describes a few, and counts them all.
func TestCheckHistoryExamplesBounded(t *testing.T) {
	t.Parallel()
	var h nemesisHistory
	for i := range 100 {
		h.acked = append(h.acked, ackedNote{message: fmt.Sprint(i), location: geo.Point{Latitude: int32(i)}})
	}
	h.watchers = []watcherHistory{{name: "world"}}
	v := checkHistory(h, time.Second)
	if got, want := v.lost, 100; got != want {
		t.Errorf("lost %d, want %d", got, want)
	}
	if got, want := len(v.examples), examplesPerKind; got != want {
		t.Errorf("%d examples, want %d", got, want)
	}
}
