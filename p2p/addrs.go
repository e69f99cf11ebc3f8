package p2p

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Learned addresses. Identify tells a host the addresses of the peers it is
// connected to only; a node's own announcements on the mesh (the bridge
// puts them in its signed heartbeats) tell every node how to dial it, so a
// request to a node several hops away opens a direct stream when the
// network allows, and is routed (relay.go) only when it does not.
//
// An announcement is a stranger's word, and every node that hears it may
// dial what it names: only plain IP transport addresses are kept (no DNS
// name, whose lookup the announcer would choose, no circuit through a
// third node), and only public ones unless Config.AllowPrivateAddrs, so a
// node cannot make the mesh dial into its members' private networks.

const (
	// maxLearnedAddrs bounds the addresses taken from one announcement.
	maxLearnedAddrs = 16
	// learnedAddrTTL is how long a learned address is kept without being
	// announced again; heartbeats refresh it far more often.
	learnedAddrTTL = 10 * time.Minute
)

// AddAddrs records addresses that peer announced for itself, as strings
// Addrs returns; each may end in /p2p/<id>, which must then be peer's. The
// addresses that are malformed, name another peer or are not kept (see
// above) are skipped, and the others kept: the error then wraps
// ErrBadAddr, counts the skipped ones and gives the first one's reason.
// A denied peer's addresses (Config.Deny) are not kept. The caller must
// have checked that peer itself made the announcement (gossipsub's strict
// signing does).
func (h *Host) AddAddrs(peerID string, addrs []string) error {
	pid, err := decodePeer(peerID)
	if err != nil {
		return err
	}
	if pid == h.host.ID() || (h.cfg.Deny != nil && h.cfg.Deny(peerID)) {
		return nil
	}
	if len(addrs) > maxLearnedAddrs {
		addrs = addrs[:maxLearnedAddrs]
	}
	out := make([]ma.Multiaddr, 0, len(addrs))
	var first error
	for _, s := range addrs {
		a, err := h.learnable(pid, s)
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		out = append(out, a)
	}
	if len(out) > 0 {
		h.host.Peerstore().AddAddrs(pid, out, learnedAddrTTL)
	}
	if skipped := len(addrs) - len(out); skipped > 0 {
		return fmt.Errorf("%w: %d of %d addresses of %s skipped, first: %w", ErrBadAddr, skipped, len(addrs), pid, first)
	}
	return nil
}

var errNotLearnable = errors.New("not a dialable address")

// learnable parses s, an address pid announced, into the transport
// address to keep.
func (h *Host) learnable(pid peer.ID, s string) (ma.Multiaddr, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	transport, id := peer.SplitAddr(a)
	if len(transport) == 0 || (id != "" && id != pid) {
		return nil, fmt.Errorf("%q: %w: names another peer", s, errNotLearnable)
	}
	if _, err := transport.ValueForProtocol(ma.P_CIRCUIT); err == nil {
		return nil, fmt.Errorf("%q: %w: a relay circuit", s, errNotLearnable)
	}
	if code := transport[0].Protocol().Code; code != ma.P_IP4 && code != ma.P_IP6 {
		return nil, fmt.Errorf("%q: %w: not an IP address", s, errNotLearnable)
	}
	if !h.cfg.AllowPrivateAddrs && !manet.IsPublicAddr(transport) {
		return nil, fmt.Errorf("%q: %w: not a public address", s, errNotLearnable)
	}
	return transport, nil
}
