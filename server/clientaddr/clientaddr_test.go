package clientaddr_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/routeguide/routeguide/server/clientaddr"
)

func TestParseTrusted(t *testing.T) {
	t.Parallel()
	got, err := clientaddr.ParseTrusted("10.0.0.0/8, 192.0.2.1", "", "2001:db8::/32,::ffff:198.51.100.0/120,10.1.2.3/8")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("10.0.0.0/8,192.0.2.1/32,2001:db8::/32,198.51.100.0/24,10.0.0.0/8", got.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if none, err := clientaddr.ParseTrusted("", " , "); none != nil || err != nil {
		t.Errorf("no proxies: got %v, %v; want nil, nil", none, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1:80", "fe80::1%eth0"} {
		if _, err := clientaddr.ParseTrusted(bad); err == nil || !strings.Contains(err.Error(), "neither an address nor a CIDR prefix") {
			t.Errorf("%q: got %v, want an error that says what is expected", bad, err)
		}
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted, err := clientaddr.ParseTrusted("10.0.0.0/8,2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	many := strings.Repeat("10.0.0.9, ", 20)
	tests := []struct {
		name    string
		trusted *clientaddr.Trusted
		remote  string
		xff     []string
		want    string
	}{
		{"untrusted peer", trusted, "192.0.2.1:5000", []string{"203.0.113.1"}, "192.0.2.1"},
		{"no trusted proxies", nil, "10.0.0.1:5000", []string{"203.0.113.1"}, "10.0.0.1"},
		{"trusted peer, no header", trusted, "10.0.0.1:5000", nil, "10.0.0.1"},
		{"one hop", trusted, "10.0.0.1:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"forged entries left of the client", trusted, "10.0.0.1:5000", []string{"6.6.6.6, 7.7.7.7, 203.0.113.1"}, "203.0.113.1"},
		{"two trusted hops", trusted, "10.0.0.1:5000", []string{"6.6.6.6, 203.0.113.1, 10.0.0.2"}, "203.0.113.1"},
		{"several headers", trusted, "10.0.0.1:5000", []string{"6.6.6.6", "203.0.113.1, 10.0.0.2", "10.0.0.3"}, "203.0.113.1"},
		{"all trusted", trusted, "10.0.0.1:5000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"garbage stops at its writer", trusted, "10.0.0.1:5000", []string{"203.0.113.1, nonsense, 10.0.0.2"}, "10.0.0.2"},
		{"ports and brackets", trusted, "10.0.0.1:5000", []string{"[2001:db8::7]:443"}, "2001:db8::7"},
		{"IPv4 port", trusted, "10.0.0.1:5000", []string{"203.0.113.1:80"}, "203.0.113.1"},
		{"mapped peer", trusted, "[::ffff:10.0.0.1]:5000", []string{"::ffff:203.0.113.1"}, "203.0.113.1"},
		{"IPv6 proxy", trusted, "[2001:db8:ffff::1]:5000", []string{"2001:db8:1::1"}, "2001:db8:1::1"},
		{"empty entries", trusted, "10.0.0.1:5000", []string{"203.0.113.1,, ,"}, "203.0.113.1"},
		{"too many hops", trusted, "10.0.0.1:5000", []string{"203.0.113.1, " + many}, "10.0.0.9"},
		{"remote no address", trusted, "@", nil, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for _, v := range tt.xff {
				h.Add("X-Forwarded-For", v)
			}
			if got := tt.trusted.ClientAddr(tt.remote, h).String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzClientAddr: whatever X-Forwarded-For says, the client is the peer
// or an address the header names, and never a trusted one unless all are.
func FuzzClientAddr(f *testing.F) {
	trusted, err := clientaddr.ParseTrusted("10.0.0.0/8")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("203.0.113.1, 10.0.0.2")
	f.Add("[::1]:80,,garbage, ::ffff:10.0.0.1")
	f.Fuzz(func(t *testing.T, xff string) {
		got := trusted.ClientAddr("10.0.0.1:5000", http.Header{"X-Forwarded-For": {xff}})
		if !got.IsValid() {
			t.Fatalf("no address for %q", xff)
		}
		if got == netip.MustParseAddr("10.0.0.1") {
			return
		}
		if !strings.Contains(xff, got.String()) && !strings.Contains(strings.ToLower(xff), got.String()) {
			// An address may be written in many ways; it must at least
			// parse from one of the entries.
			found := false
			for e := range strings.SplitSeq(xff, ",") {
				if a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(e), "[]")); err == nil && a.Unmap().WithZone("") == got {
					found = true
				}
				if ap, err := netip.ParseAddrPort(strings.TrimSpace(e)); err == nil && ap.Addr().Unmap().WithZone("") == got {
					found = true
				}
			}
			if !found {
				t.Fatalf("client %s is in no entry of %q", got, xff)
			}
		}
	})
}
