package notes

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// The headers a note's stream message carries besides its text, and those
// of a deletion marker, a message on the subject [JetStream.deletedSubject]
// that tells every replica's feed a note was deleted.
const (
	authorIDHeader   = "Routeguide-Author-Id"
	authorNameHeader = "Routeguide-Author-Name" // query-escaped: headers are one line of ASCII
	deletedHeader    = "Routeguide-Deleted"     // the sequence of the note deleted
	locationHeader   = "Routeguide-Location"    // of the note deleted, as lat.lng
)

// errNotANote is wrapped by the errors of messages in the stream that the
// store did not write, or cannot read.
var errNotANote = errors.New("not a note")

// setAuthor puts author into h.
func setAuthor(h nats.Header, author Author) {
	if author.Anonymous() {
		return
	}
	h.Set(authorIDHeader, author.ID)
	if author.Name != "" {
		h.Set(authorNameHeader, url.QueryEscape(author.Name))
	}
}

// authorOf reads the author of a note from h, checking it as Add would.
func authorOf(h nats.Header) (Author, error) {
	id := h.Get(authorIDHeader)
	if id == "" {
		return Author{}, nil
	}
	if err := checkAuthorID(id); err != nil {
		return Author{}, err
	}
	name, err := url.QueryUnescape(h.Get(authorNameHeader))
	if err != nil {
		return Author{}, fmt.Errorf("author name: %w", err)
	}
	if cleanName(name) != name {
		return Author{}, fmt.Errorf("author name %q is not one the store writes", name)
	}
	return Author{ID: id, Name: name}, nil
}

// locationText is how a location appears in subjects and headers.
func locationText(p *routeguide.Point) string {
	return fmt.Sprintf("%d.%d", p.GetLatitude(), p.GetLongitude())
}

// parseLocation reads a location as locationText writes it, and nothing
// else: two tokens, each an int32 in range, in their shortest form.
func parseLocation(s string) (*routeguide.Point, error) {
	latText, lngText, ok := strings.Cut(s, ".")
	lat, latErr := strconv.ParseInt(latText, 10, 32)
	lng, lngErr := strconv.ParseInt(lngText, 10, 32)
	if !ok || latErr != nil || lngErr != nil {
		return nil, fmt.Errorf("%q is not a location", s)
	}
	if lat < -90e7 || lat > 90e7 || lng < -180e7 || lng > 180e7 {
		return nil, fmt.Errorf("%q is out of range", s)
	}
	p := &routeguide.Point{Latitude: int32(lat), Longitude: int32(lng)}
	if locationText(p) != s {
		// "+1.02" is 1.2, but the store would never write it so, and
		// reading the notes at 1.2 would never find it.
		return nil, fmt.Errorf("%q is not a location as the store writes one", s)
	}
	return p, nil
}

// decode turns the stream message m into its event: a note whose location
// is in the subject and text in the payload, or a deletion marker.
// Anything else, or anything the store would not have written, fails with
// errNotANote.
func (s *JetStream) decode(m *jetstream.RawStreamMsg) (Event, error) {
	seq, subject, h, data := m.Sequence, m.Subject, m.Header, m.Data
	rest, ok := strings.CutPrefix(subject, s.cfg.Subject+".")
	if !ok {
		return Event{}, fmt.Errorf("%w: subject %q is outside %s", errNotANote, subject, s.cfg.Subject)
	}
	if subject == s.deletedSubject() {
		deleted, err := strconv.ParseUint(h.Get(deletedHeader), 10, 64)
		if err != nil || deleted == 0 || deleted >= seq {
			return Event{}, fmt.Errorf("%w: deletion marker %d names no earlier note", errNotANote, seq)
		}
		at, err := parseLocation(h.Get(locationHeader))
		if err != nil {
			return Event{}, fmt.Errorf("%w: deletion marker %d: %w", errNotANote, seq, err)
		}
		return newEvent(Note{Seq: seq, Time: m.Time, Note: &routeguide.RouteNote{Location: at}}, deleted), nil
	}
	at, err := parseLocation(rest)
	if err != nil {
		return Event{}, fmt.Errorf("%w: subject %q: %w", errNotANote, subject, err)
	}
	if !utf8.Valid(data) {
		return Event{}, fmt.Errorf("%w: message %d is not UTF-8", errNotANote, seq)
	}
	if len(data) > s.cfg.Limits.MaxNoteBytes {
		return Event{}, fmt.Errorf("%w: message %d is %d bytes long, over %d", errNotANote, seq, len(data), s.cfg.Limits.MaxNoteBytes)
	}
	author, err := authorOf(h)
	if err != nil {
		return Event{}, fmt.Errorf("%w: message %d: %w", errNotANote, seq, err)
	}
	return newEvent(Note{Seq: seq, Time: m.Time, Note: &routeguide.RouteNote{Location: at, Message: string(data)}, Author: author}, 0), nil
}

// deletedSubject is where deletion markers are published: in the stream,
// so that every replica's feed reads them in order with the notes, a
// replica that was away reads those it missed, and a replay carries them.
// NATS's own advisories would be simpler, but they are not stored: a
// replica reconnecting at the wrong moment would miss one for good.
func (s *JetStream) deletedSubject() string {
	return s.cfg.Subject + ".deleted"
}
