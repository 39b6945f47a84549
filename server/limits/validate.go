package limits

import (
	"fmt"
	"strconv"
)

// Validate reports, as a [*Conflict], the first pair of fields of l, with
// its defaults applied, that contradict each other.
func (l Limits) Validate() error {
	l = l.WithDefaults()
	if l.DefaultTimeout > l.MaxTimeout {
		return &Conflict{Field: "DefaultTimeout", Other: "MaxTimeout", Problem: "must not be longer than",
			Values: [2]string{l.DefaultTimeout.String(), l.MaxTimeout.String()}}
	}
	// A stalled watch is cut between WatchStall and a quarter more: past
	// WriteTimeout the connection's reset would come first, without the
	// sequence to resume from.
	if l.WatchStall+l.WatchStall/4 >= l.WriteTimeout {
		return &Conflict{Field: "WatchStall", Other: "WriteTimeout", Problem: "and a quarter more must be shorter than",
			Values: [2]string{l.WatchStall.String(), l.WriteTimeout.String()}}
	}
	if int64(l.MaxNoteBytes)+NoteOverheadBytes > l.MaxStoredNoteBytes {
		return &Conflict{Field: "MaxStoredNoteBytes", Other: "MaxNoteBytes",
			Problem: fmt.Sprintf("must hold at least one note (plus %d bytes counted per note) of", NoteOverheadBytes),
			Values:  [2]string{strconv.FormatInt(l.MaxStoredNoteBytes, 10), strconv.Itoa(l.MaxNoteBytes)}}
	}
	return nil
}

// A Conflict is the error of [Limits] with two fields that contradict each
// other.
type Conflict struct {
	// Field and Other name the fields, as in "DefaultTimeout".
	Field, Other string
	// Problem says what Field must be with respect to Other.
	Problem string
	// Values are the values of Field and Other, as text.
	Values [2]string
}

func (e *Conflict) Error() string {
	return fmt.Sprintf("limits: %s (%s) %s %s (%s)", e.Field, e.Values[0], e.Problem, e.Other, e.Values[1])
}
