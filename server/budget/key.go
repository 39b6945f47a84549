package budget

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
)

// Key names the client a write is charged to: its author ID when signed in,
// otherwise its address. It is comparable and costs no allocation.
type Key struct {
	kind byte
	n    byte
	b    [24]byte
}

const (
	kindAuthor  = 'a' // b[:n] is the author ID
	kindHashed  = 'h' // b is a hash of a long or unusual author ID
	kindIPv4    = '4' // b[:4] is the address
	kindIPv6    = '6' // b[:8] is the /64
	kindUnknown = 'u' // no valid address: all such clients share one budget
)

// AuthorKey is the key of a signed-in client, by its author ID.
func AuthorKey(authorID string) Key {
	if len(authorID) <= len(Key{}.b) && tokenSafe(authorID) {
		k := Key{kind: kindAuthor, n: byte(len(authorID))}
		copy(k.b[:], authorID)
		return k
	}
	sum := sha256.Sum256([]byte(authorID))
	k := Key{kind: kindHashed, n: byte(len(Key{}.b))}
	copy(k.b[:], sum[:])
	return k
}

// AddrKey is the key of an anonymous client, by its address: an IPv4
// address (IPv4-mapped IPv6 ones included) alone, an IPv6 address by its
// /64, the least a site is given, so that one site cannot multiply its
// budget by using its many addresses.
func AddrKey(addr netip.Addr) Key {
	addr = addr.Unmap()
	switch {
	case addr.Is4():
		k := Key{kind: kindIPv4, n: 4}
		a := addr.As4()
		copy(k.b[:], a[:])
		return k
	case addr.Is6():
		k := Key{kind: kindIPv6, n: 8}
		a := addr.As16()
		copy(k.b[:], a[:8])
		return k
	default:
		return Key{kind: kindUnknown}
	}
}

// String is the key as a NATS subject token: letters, digits, '-', '_'
// and one '.', as "a.<author ID>", "h.<hash>", "4.<hex>", "6.<hex of the
// /64>" or "u.unknown".
func (k Key) String() string {
	switch k.kind {
	case kindAuthor:
		return "a." + string(k.b[:k.n])
	case kindHashed:
		return "h." + base64.RawURLEncoding.EncodeToString(k.b[:k.n])
	case kindIPv4, kindIPv6:
		return string(k.kind) + "." + hex.EncodeToString(k.b[:k.n])
	default:
		return "u.unknown"
	}
}

// tokenSafe reports whether s is made only of what a NATS subject token
// and a KV key allow everywhere, and base64url uses.
func tokenSafe(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// KeyFor is the key a write is charged to: the author ID of a signed-in
// caller, or, with none, its address.
func KeyFor(authorID string, addr netip.Addr) Key {
	if authorID != "" {
		return AuthorKey(authorID)
	}
	return AddrKey(addr)
}
