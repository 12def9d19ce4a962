package httpserver

import (
	"net/http"
	"net/netip"
	"strings"
)

// HeaderForwardedFor carries the chain of client addresses through reverse
// proxies, each appending the address of its own peer.
const HeaderForwardedFor = "X-Forwarded-For"

// maxForwardedHops bounds how many X-Forwarded-For entries ClientIP walks.
const maxForwardedHops = 32

// ClientIP returns the address of the client that sent req. It is the direct
// peer (req.RemoteAddr) unless the peer is inside one of trusted; then
// X-Forwarded-For (every instance of the header, in order, as one list) is
// read from its last entry backwards, skipping entries that are themselves
// inside trusted, and the first other entry is the client.
//
// This is the rule of tenancy's X-Forwarded-Host (believe a forwarding header
// only from a trusted peer, and only what that peer appended last), extended
// through a chain of trusted proxies: every entry left of the first untrusted
// one may have come from the client itself, so none of them is believed. An
// entry that does not parse, or a chain longer than 32 entries, ends the walk
// at the last address believed. It returns the zero Addr when RemoteAddr does
// not parse (net/http always sets it).
func ClientIP(req *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, ok := parseHop(req.RemoteAddr)
	if !ok || !inAny(peer, trusted) {
		return peer
	}
	chain := strings.Join(req.Header.Values(HeaderForwardedFor), ",")
	client := peer
	for range maxForwardedHops {
		if chain == "" {
			return client
		}
		var hop string
		if i := strings.LastIndexByte(chain, ','); i >= 0 {
			chain, hop = chain[:i], chain[i+1:]
		} else {
			chain, hop = "", chain
		}
		addr, ok := parseHop(strings.TrimSpace(hop))
		if !ok {
			return client
		}
		client = addr
		if !inAny(addr, trusted) {
			return client
		}
	}
	return client
}

// parseHop parses an address as net/http's RemoteAddr ("ip:port",
// "[ipv6]:port") or an X-Forwarded-For entry ("ip", sometimes with a port)
// writes it, without zone and with IPv4-mapped IPv6 unmapped.
func parseHop(s string) (netip.Addr, bool) {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(s); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		addr = a
	} else {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}

// inAny reports whether addr is inside one of prefixes.
func inAny(addr netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
