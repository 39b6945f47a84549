package notes

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Author says who posted a note. The zero Author is anonymous: a note
// posted without signing in.
type Author struct {
	// ID is a stable identifier of the poster that reveals nothing of
	// their account, such as a hash of their issuer and subject; empty
	// when anonymous. At most [MaxAuthorIDBytes] of letters, digits and
	// "-_.:=".
	ID string
	// Name is the poster's display name. A store keeps at most
	// [MaxAuthorNameBytes] of it, as valid UTF-8 without control
	// characters.
	Name string
}

// MaxAuthorIDBytes and MaxAuthorNameBytes bound what a store keeps of an
// [Author]; both travel with every note, in JetStream as message headers.
const (
	MaxAuthorIDBytes   = 64
	MaxAuthorNameBytes = 64
)

// Anonymous reports whether a is nobody in particular.
func (a Author) Anonymous() bool {
	return a.ID == ""
}

// checked returns a as a store keeps it: the name cleaned and cut to
// length. An ID that is not one fails, since it comes from the server's
// own identity code, not from a client.
func (a Author) checked() (Author, error) {
	if err := checkAuthorID(a.ID); err != nil {
		return Author{}, err
	}
	if a.ID == "" {
		return Author{}, nil // an anonymous note has no name either
	}
	return Author{ID: a.ID, Name: cleanName(a.Name)}, nil
}

func checkAuthorID(id string) error {
	if len(id) > MaxAuthorIDBytes {
		return fmt.Errorf("author ID is %d bytes long, over %d", len(id), MaxAuthorIDBytes)
	}
	for _, r := range id {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.:=", r))) {
			return fmt.Errorf("author ID %q holds %q: only ASCII letters, digits and -_.:= are allowed", id, r)
		}
	}
	return nil
}

// cleanName makes a display name safe to store and show: valid UTF-8
// without control characters, at most MaxAuthorNameBytes, cut between
// characters.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if len(name) <= MaxAuthorNameBytes {
		return name
	}
	// name is valid UTF-8: only the character cut in two can be invalid.
	return strings.ToValidUTF8(name[:MaxAuthorNameBytes], "")
}
