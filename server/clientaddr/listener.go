package clientaddr

import (
	"fmt"
	"net"
	"time"

	"github.com/pires/go-proxyproto"
)

// ProxyHeaderTimeout bounds how long a connection may take to send its
// PROXY header, or the bytes that show it sends none.
const ProxyHeaderTimeout = 5 * time.Second

// ErrProxyHeaderRefused is what reading a connection returns when its peer
// sent a PROXY header it may not send: the peer is not trusted, or the
// header is not version 2. The server closes such a connection.
var ErrProxyHeaderRefused = proxyproto.ErrSuperfluousProxyHeader

// Listener wraps l so that a connection from a trusted proxy may open with
// a PROXY protocol version 2 header, whose source address then becomes the
// connection's RemoteAddr; a connection from any other peer that opens
// with a PROXY header (of any version) is refused: its first read fails
// and the server closes it. The nil *Trusted returns l itself: with no
// trusted proxy, a PROXY header is no HTTP request and fails as one.
//
// A trusted proxy may also send no header, as an HTTP proxy that gives the
// client's address in X-Forwarded-For does: what it says is believed
// either way. So a trusted proxy must never pass on its clients' bytes
// without a header of its own (HAProxy in TCP mode without send-proxy-v2).
//
// The RemoteAddr of a connection returned blocks until the header is read
// (at most [ProxyHeaderTimeout]): call it only where the connection's
// first read may wait, as http.Server does, in the connection's goroutine.
func (t *Trusted) Listener(l net.Listener) net.Listener {
	if t == nil {
		return l
	}
	return &proxyproto.Listener{
		Listener:          l,
		ReadHeaderTimeout: ProxyHeaderTimeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			peer := parseHost(o.Upstream.String())
			if t.Contains(peer) {
				return proxyproto.USE, nil
			}
			return proxyproto.REJECT, nil
		},
		ValidateHeader: func(h *proxyproto.Header) error {
			if h.Version != 2 {
				return fmt.Errorf("%w: PROXY protocol version %d; send version 2", ErrProxyHeaderRefused, h.Version)
			}
			return nil
		},
	}
}
