package p2p

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Learned addresses. Identify tells a host the addresses of the peers it is
// connected to only; a node's own announcements on the mesh (the bridge
// puts them in its signed heartbeats) tell every node how to dial it, so a
// request to a node several hops away opens a direct stream when the
// network allows, and is routed (relay.go) only when it does not.

const (
	// maxLearnedAddrs bounds the addresses taken from one announcement.
	maxLearnedAddrs = 16
	// learnedAddrTTL is how long a learned address is kept without being
	// announced again; heartbeats refresh it far more often.
	learnedAddrTTL = 10 * time.Minute
)

// AddAddrs records addresses that peer announced for itself, as strings
// Addrs returns. Each may end in /p2p/<id>, which must then be peer's; a
// malformed one is an error and none of them is kept. The caller must have
// checked that peer itself made the announcement (gossipsub's strict
// signing does).
func (h *Host) AddAddrs(peerID string, addrs []string) error {
	pid, err := decodePeer(peerID)
	if err != nil {
		return err
	}
	if pid == h.host.ID() {
		return nil
	}
	if len(addrs) > maxLearnedAddrs {
		addrs = addrs[:maxLearnedAddrs]
	}
	out := make([]ma.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("%w: %q: %v", ErrBadAddr, s, err)
		}
		transport, id := peer.SplitAddr(a)
		if transport == nil || (id != "" && id != pid) {
			return fmt.Errorf("%w: %q is not an address of %s", ErrBadAddr, s, pid)
		}
		out = append(out, transport)
	}
	h.host.Peerstore().AddAddrs(pid, out, learnedAddrTTL)
	return nil
}
