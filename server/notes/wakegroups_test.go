package notes

import (
	"fmt"
	"slices"
	"testing"
)

// TestWakeGroupsKeepAConnectionsWatchersTogether opens watchers over three
// connections in turn, as a client that multiplexes many watches opens
// them, and one each over many others, as pages do: no group may hold
// watchers of two connections or more than its size, a connection's
// watchers must fill a group before they take another, free groups must
// be reused first, and once all have left no group or connection may be
// kept.
func TestWakeGroupsKeepAConnectionsWatchersTogether(t *testing.T) {
	t.Parallel()
	var gs wakeGroups
	type member struct {
		g    int32
		c    *connGroups
		conn string
	}
	var members []member
	join := func(conn string) {
		g, c := gs.join(conn)
		if g < 0 || int(g) >= len(gs.n) {
			t.Fatalf("join(%q) = group %d of %d", conn, g, len(gs.n))
		}
		members = append(members, member{g, c, conn})
	}
	for i := range 3 * 100 {
		join(fmt.Sprintf("10.0.0.1:%d", 4000+i%3))
	}
	const pages = 5 * cutWave
	for i := range pages {
		join(fmt.Sprintf("10.0.0.2:%d", 5000+i))
	}

	connOf := make(map[int32]string)
	groupsOf := make(map[string]map[int32]bool)
	for _, m := range members {
		if other, ok := connOf[m.g]; ok && other != m.conn {
			t.Fatalf("group %d holds watchers of %s and %s", m.g, other, m.conn)
		}
		connOf[m.g] = m.conn
		if groupsOf[m.conn] == nil {
			groupsOf[m.conn] = make(map[int32]bool)
		}
		groupsOf[m.conn][m.g] = true
	}
	for g, n := range gs.n {
		if n > groupSize(g) {
			t.Errorf("group %d holds %d watchers, more than its %d", g, n, groupSize(g))
		}
	}
	// A connection takes a group only once its others are full.
	for conn, groups := range groupsOf {
		notFull := 0
		for g := range groups {
			if gs.n[g] < groupSize(int(g)) {
				notFull++
			}
		}
		if notFull > 1 {
			t.Errorf("%s has watchers in %d groups with room", conn, notFull)
		}
	}
	if len(gs.n) != len(connOf) {
		t.Errorf("%d groups, %d of them used", len(gs.n), len(connOf))
	}

	// All but the last to join leave; it stays, in the last group, and
	// the free groups before it are kept, to be used first.
	stays := members[len(members)-1]
	groups := len(gs.n)
	for _, m := range slices.Backward(members[:len(members)-1]) {
		gs.leave(m.g, m.c)
	}
	if len(gs.n) != groups || int(stays.g) != groups-1 {
		t.Fatalf("with one watcher left, in group %d: %d groups, want %d", stays.g, len(gs.n), groups)
	}
	members = members[:0]
	for i := range 3 * 100 {
		join(fmt.Sprintf("10.0.0.3:%d", 6000+i%3))
	}
	if len(gs.n) != groups {
		t.Errorf("%d groups after others came, want the %d free ones reused", len(gs.n), groups)
	}
	// Once every watcher has left, no group and no connection is kept.
	for _, m := range members {
		gs.leave(m.g, m.c)
	}
	gs.leave(stays.g, stays.c)
	if len(gs.n) != 0 || len(gs.conns) != 0 {
		t.Fatalf("after every watcher left: groups %v, %d connections counted", gs.n, len(gs.conns))
	}
}

// TestWatchersOfAConnectionShareWakeGroups opens watchers of two
// connections in turn through a store, named as the service names them,
// and wants the feed to keep each connection's in groups of its own.
func TestWatchersOfAConnectionShareWakeGroups(t *testing.T) {
	t.Parallel()
	s, ctx := boundedStore(t)
	groupsOf := make(map[string]map[int32]bool)
	for i := range 2 * cutWave {
		conn := fmt.Sprintf("127.0.0.1:%d", 7000+i%2)
		w, err := s.Watch(ctx, WatchOptions{Conn: conn})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		s.feed.mu.Lock()
		g := w.group
		s.feed.mu.Unlock()
		if groupsOf[conn] == nil {
			groupsOf[conn] = make(map[int32]bool)
		}
		groupsOf[conn][g] = true
	}
	for conn, groups := range groupsOf {
		for other, others := range groupsOf {
			for g := range groups {
				if conn != other && others[g] {
					t.Errorf("%s and %s share wake group %d", conn, other, g)
				}
			}
		}
	}
	if len(groupsOf) != 2 {
		t.Errorf("watchers of %d connections, want 2", len(groupsOf))
	}
}
