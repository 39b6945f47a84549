package main

import (
	"fmt"
	"slices"
)

// noteID names a note the tool sent: its client and its sequence number
// within that client's notes.
type noteID uint64

func newNoteID(client, seq int) noteID { return noteID(uint64(client)<<32 | uint64(uint32(seq))) }
func (n noteID) client() int           { return int(n >> 32) }
func (n noteID) seq() int              { return int(uint32(n)) }
func (n noteID) String() string        { return fmt.Sprintf("c%d-n%d", n.client(), n.seq()) }

// chatLog is what one RouteChat client sent and saw. The server answers
// each note with every note at its location so far, the note itself last,
// so the replies are split into one window per note at each of the
// client's own notes.
type chatLog struct {
	client int
	locs   []int      // the location of each note, decided before sending
	sent   int        // notes sent, set once sending has ended
	window [][]noteID // the replies to each note; nil until its last arrives

	cur       []noteID // replies since the last window closed
	next      int      // the note whose window is open
	replies   int
	foreign   int // replies that are not notes of this run
	misplaced int // replies at another location than their note's
	extra     int // replies after every window had closed
	streamErr error
}

func newChatLog(client int, locs []int) *chatLog {
	return &chatLog{client: client, locs: locs, window: make([][]noteID, len(locs))}
}

// receive takes one reply: a note of this run (known), at location loc.
func (c *chatLog) receive(id noteID, known bool, loc int) {
	c.replies++
	if !known {
		c.foreign++
		return
	}
	if c.next >= len(c.locs) {
		c.extra++
		return
	}
	if loc != c.locs[c.next] {
		c.misplaced++
	}
	c.cur = append(c.cur, id)
	if id.client() != c.client || id.seq() < c.next {
		// Someone's note, or one of ours sent earlier at the same place.
		return
	}
	// Our own note ends its window. A later note than the one expected
	// cannot be in the expected window, since a stream's notes are stored
	// in the order sent: the replies of the notes in between never came.
	s := id.seq()
	if s >= len(c.locs) {
		c.foreign++
		return
	}
	c.window[s] = c.cur
	c.cur = nil
	c.next = s + 1
}

// chatReport is what the oracle found across all clients.
type chatReport struct {
	sent, replies, windows int
	// lost counts notes whose own reply never came, and notes missing from
	// a window that should have held them.
	lost int
	// duplicated counts notes that came twice in one window, and replies
	// after a client's last window.
	duplicated int
	// reordered counts contradictions between windows: two different notes
	// after or before the same one, a cycle, or a client's notes stored
	// out of the order it sent them.
	reordered int
	// other counts replies at the wrong location, notes this run never
	// sent, windows longer than the per-location cap and replies that end
	// no window.
	other      int
	streamErrs int
	examples   []string
}

func (r *chatReport) violations() int {
	return r.lost + r.duplicated + r.reordered + r.other + r.streamErrs
}

func (r *chatReport) note(format string, args ...any) {
	if len(r.examples) < 10 {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

// checkChat checks every client's windows against one total order per
// location, rebuilt by chaining the windows: each window must be a run of
// consecutive notes of that order ending with the note it answers. When
// full is set, the server cannot have evicted for memory, so every window
// must also hold the maxPerLocation newest notes, or all if fewer.
func checkChat(logs []*chatLog, locations, maxPerLocation int, full bool) *chatReport {
	r := &chatReport{}
	type answered struct {
		note   noteID
		window []noteID
	}
	byLocation := make([][]answered, locations)
	sentAt := make([][]noteID, locations)
	for _, c := range logs {
		r.sent += c.sent
		r.replies += c.replies
		if c.streamErr != nil {
			r.streamErrs++
			r.note("client %d: stream ended with %v", c.client, c.streamErr)
		}
		if c.foreign+c.misplaced > 0 {
			r.other += c.foreign + c.misplaced
			r.note("client %d: %d replies that are not this run's notes, %d at the wrong location", c.client, c.foreign, c.misplaced)
		}
		if c.extra > 0 {
			r.duplicated += c.extra
			r.note("client %d: %d replies after its last note's window", c.client, c.extra)
		}
		if len(c.cur) > 0 {
			r.other += len(c.cur)
			r.note("client %d: %d replies after its last window that end no window", c.client, len(c.cur))
		}
		for k := range c.sent {
			id := newNoteID(c.client, k)
			sentAt[c.locs[k]] = append(sentAt[c.locs[k]], id)
			if c.window[k] == nil {
				r.lost++
				r.note("%v: its own reply never came", id)
				continue
			}
			r.windows++
			byLocation[c.locs[k]] = append(byLocation[c.locs[k]], answered{id, c.window[k]})
		}
	}

	for loc, windows := range byLocation {
		succ := make(map[noteID]noteID)
		pred := make(map[noteID]noteID)
		nodes := make(map[noteID]bool)
		for _, a := range windows {
			if len(a.window) > maxPerLocation {
				r.other++
				r.note("%v: window of %d notes, more than the %d a location keeps", a.note, len(a.window), maxPerLocation)
			}
			seen := make(map[noteID]bool, len(a.window))
			for i, n := range a.window {
				if seen[n] {
					r.duplicated++
					r.note("%v: %v twice in its window", a.note, n)
				}
				seen[n] = true
				nodes[n] = true
				if i == 0 {
					continue
				}
				prev := a.window[i-1]
				if prev == n {
					continue
				}
				if s, ok := succ[prev]; ok && s != n {
					r.reordered++
					r.note("location %d: %v followed by %v in one window and by %v in another", loc, prev, s, n)
				} else {
					succ[prev] = n
				}
				if p, ok := pred[n]; ok && p != prev {
					r.reordered++
					r.note("location %d: %v preceded by %v in one window and by %v in another", loc, n, p, prev)
				} else {
					pred[n] = prev
				}
			}
		}

		// Follow the chains from the notes nothing precedes.
		type place struct{ chain, index int }
		pos := make(map[noteID]place, len(nodes))
		var chains int
		heads := make([]noteID, 0)
		for n := range nodes {
			if _, ok := pred[n]; !ok {
				heads = append(heads, n)
			}
		}
		slices.Sort(heads)
		for _, h := range heads {
			i := 0
			for n, ok := h, true; ok; n, ok = succ[n] {
				if _, again := pos[n]; again {
					break
				}
				pos[n] = place{chains, i}
				i++
			}
			chains++
		}
		if len(pos) < len(nodes) {
			r.reordered++
			r.note("location %d: %d notes in a cycle of windows", loc, len(nodes)-len(pos))
		}

		// Each client's notes must be in the order it sent them.
		bySender := make(map[int][]noteID)
		for _, id := range sentAt[loc] {
			bySender[id.client()] = append(bySender[id.client()], id)
		}
		for _, ids := range bySender {
			for i := 1; i < len(ids); i++ {
				a, aok := pos[ids[i-1]]
				b, bok := pos[ids[i]]
				if aok && bok && a.chain == b.chain && a.index > b.index {
					r.reordered++
					r.note("location %d: %v stored before %v, which its client sent first", loc, ids[i], ids[i-1])
				}
			}
		}

		if !full {
			continue
		}
		// Without eviction for memory, each window holds its note's
		// predecessor, so the windows chain into one order holding every
		// note sent here.
		if chains > 1 {
			r.lost += chains - 1
			r.note("location %d: windows form %d separate runs, so some note lost its predecessor", loc, chains)
			continue
		}
		for _, a := range windows {
			p, ok := pos[a.note]
			if !ok {
				continue
			}
			if want := min(maxPerLocation, p.index+1); len(a.window) < want {
				r.lost += want - len(a.window)
				r.note("%v: window of %d notes, want the %d before and including it", a.note, len(a.window), want)
			}
		}
	}
	return r
}
