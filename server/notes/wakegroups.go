package notes

// wakeGroups are the wake groups of a feed's watchers of the world, each
// kept for the watchers of one connection.
//
// A delivery wakes its watchers a group at a time, in waves (see
// fanOutWave), and each watcher woken writes its note to its own stream.
// When the watchers of a wave are spread over many connections, each
// connection's loop in net/http wakes for a write or two a wave, walks
// all of its streams to find the one with a frame, and makes a system
// call: at 10,000 watchers over 50 connections, as a client or proxy that
// multiplexes many watches opens them, the waves cost 16% more CPU a
// delivery than waking everyone at once did. Groups kept for one
// connection let a wave write to few connections, many frames each
// (BENCHMARKS.md, "Watchers and fan-out: round ten"). A page holds one
// watch on its connection, and so a group of its own: a channel a
// delivery for each such watcher, which measured no dearer than sharing
// one among 32 (1,000 watchers over 1,000 connections, same round).
//
// Every group holds watchers or is free for the next connection that
// needs one, the first free one first, and the free ones at the end are
// let go: there are no more groups than watchers, and once a crowd of
// watchers has left, a delivery no longer makes a slot for each group it
// had.
type wakeGroups struct {
	n     []int                  // how many watchers each group holds
	conns map[string]*connGroups // the connections with watchers, by name
}

// connGroups is a connection's watchers of the world: how many, and the
// group its next one joins.
type connGroups struct {
	name  string
	n     int
	group int32 // -1 once it has emptied
}

// join returns the wake group of a new watcher on the connection named
// conn, and the connection's count, which leave must be given.
func (gs *wakeGroups) join(conn string) (int32, *connGroups) {
	c := gs.conns[conn]
	if c == nil {
		if gs.conns == nil {
			gs.conns = make(map[string]*connGroups)
		}
		c = &connGroups{name: conn, group: -1}
		gs.conns[conn] = c
	}
	c.n++
	if g := c.group; g < 0 || gs.n[g] >= groupSize(int(g)) {
		c.group = gs.free()
	}
	gs.n[c.group]++
	return c.group, c
}

// free returns the first group that holds no watcher, made if none does.
func (gs *wakeGroups) free() int32 {
	for g, n := range gs.n {
		if n == 0 {
			return int32(g)
		}
	}
	gs.n = append(gs.n, 0)
	return int32(len(gs.n) - 1)
}

// leave takes a watcher of c, as join returned it, out of group g.
func (gs *wakeGroups) leave(g int32, c *connGroups) {
	gs.n[g]--
	if gs.n[g] == 0 && c.group == g {
		c.group = -1
	}
	for len(gs.n) > 0 && gs.n[len(gs.n)-1] == 0 {
		gs.n = gs.n[:len(gs.n)-1]
	}
	c.n--
	if c.n == 0 {
		delete(gs.conns, c.name)
	}
}
