package notes

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// FuzzDecode feeds the stream decoder whatever another publisher could put
// in the stream: it never panics, and what it accepts is a note the store
// could have written, or a deletion of an earlier one.
func FuzzDecode(f *testing.F) {
	f.Add("routeguide.notes.1.-2", "", "", "", "", []byte("hello"))
	f.Add("routeguide.notes.5.5", "id-1", "Ada%20L", "", "", []byte("\xff"))
	f.Add("routeguide.notes.deleted", "", "", "3", "1.2", []byte(nil))
	f.Add("routeguide.notes.north.pole", "", "", "", "", []byte("x"))
	f.Add("routeguide.notes.+1.02", "", "", "", "", []byte("x"))
	s := &JetStream{cfg: JetStreamConfig{}.withDefaults()}
	f.Fuzz(func(t *testing.T, subject, id, name, deleted, location string, data []byte) {
		h := nats.Header{}
		for k, v := range map[string]string{authorIDHeader: id, authorNameHeader: name, deletedHeader: deleted, locationHeader: location} {
			if v != "" {
				h.Set(k, v)
			}
		}
		ev, err := s.decode(&jetstream.RawStreamMsg{Subject: subject, Sequence: 10, Header: h, Data: data, Time: time.Unix(0, 0)})
		if err != nil {
			return
		}
		if ev.Deleted != 0 {
			if ev.Deleted >= ev.Seq {
				t.Errorf("a deletion of %d at %d", ev.Deleted, ev.Seq)
			}
			return
		}
		if m := ev.Note.GetMessage(); !utf8.ValidString(m) || len(m) > s.cfg.Limits.MaxNoteBytes {
			t.Errorf("accepted a message of %d bytes that is not UTF-8 or too long", len(m))
		}
		if a, err := ev.Author.checked(); err != nil || a != ev.Author {
			t.Errorf("accepted an author %+v the store would not write (%v)", ev.Author, err)
		}
		if got := s.subject(ev.Note.GetLocation()); got != subject {
			t.Errorf("note from subject %q would be stored at %q", subject, got)
		}
	})
}
