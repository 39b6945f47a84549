// Package clientaddr finds the address of a call's client behind proxies
// the server trusts: from the PROXY protocol v2 header a trusted proxy
// opens its connections with, and from the X-Forwarded-For header of its
// requests. What any other peer says of its clients is not believed.
package clientaddr

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Trusted is the set of proxies whose word on their clients' addresses the
// server takes. The nil *Trusted trusts no one: every client is its TCP
// peer.
type Trusted struct {
	prefixes []netip.Prefix
}

// ParseTrusted reads the value of --trusted-proxies: addresses and CIDR
// prefixes, separated by commas, in one value or several. None makes the
// nil *Trusted.
func ParseTrusted(values ...string) (*Trusted, error) {
	var t Trusted
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			p, err := netip.ParsePrefix(item)
			if err != nil {
				a, aerr := netip.ParseAddr(item)
				if aerr != nil || a.Zone() != "" {
					return nil, fmt.Errorf("trusted proxies: %q is neither an address nor a CIDR prefix such as 10.0.0.0/8", item)
				}
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
			}
			t.prefixes = append(t.prefixes, p.Masked())
		}
	}
	if len(t.prefixes) == 0 {
		return nil, nil
	}
	return &t, nil
}

// Contains reports whether addr is a trusted proxy's.
func (t *Trusted) Contains(addr netip.Addr) bool {
	if t == nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	return slices.ContainsFunc(t.prefixes, func(p netip.Prefix) bool { return p.Contains(addr) })
}

// String lists the trusted prefixes, as ParseTrusted reads them.
func (t *Trusted) String() string {
	if t == nil {
		return ""
	}
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// MaxForwardedHops bounds how many X-Forwarded-For entries ClientAddr
// reads, from the right; past them, the left-most read is the client.
const MaxForwardedHops = 16

// ClientAddr returns the address of the client of a request whose peer is
// remoteAddr (http.Request.RemoteAddr, "host:port", already the address a
// trusted proxy gave in a PROXY header) and whose headers are header. A
// peer that is no trusted proxy is the client. A trusted one's request
// names the client in X-Forwarded-For, where each proxy appends the
// address it received the request from: the client is the right-most
// address that is no trusted proxy's, since everything left of it was
// written by someone the server does not trust. An entry that is no
// address stops the search at the proxy that wrote it. The zero Addr means
// remoteAddr is no address.
func (t *Trusted) ClientAddr(remoteAddr string, header Header) netip.Addr {
	client := parseHost(remoteAddr)
	if !client.IsValid() || !t.Contains(client) {
		return client
	}
	values := header.Values("X-Forwarded-For")
	hops := 0
	for i := len(values) - 1; i >= 0; i-- {
		entries := values[i]
		for entries != "" && hops < MaxForwardedHops {
			var entry string
			if comma := strings.LastIndexByte(entries, ','); comma >= 0 {
				entries, entry = entries[:comma], entries[comma+1:]
			} else {
				entries, entry = "", entries
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			hops++
			addr := parseHost(entry)
			if !addr.IsValid() {
				return client
			}
			client = addr
			if !t.Contains(addr) {
				return addr
			}
		}
	}
	return client
}

// Header is a request's header: a [net/http.Header], or connect-go's
// *connect.Header of a call.
type Header interface {
	Values(key string) []string
}

// parseHost reads an address, with or without a port, IPv6 with or without
// brackets, and returns it without zone, IPv4-mapped IPv6 as IPv4.
func parseHost(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}
