package p2p

import (
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/network"
)

// PeerInfo is one connected peer and the addresses of its open
// connections, for the operator page.
type PeerInfo struct {
	ID        string   `json:"id"`
	Addrs     []string `json:"addrs"`
	Direction string   `json:"direction"` // of the first connection: inbound or outbound
	Score     float64  `json:"score"`     // GossipSub's score of the peer
}

// PeerInfos lists the connected peers, sorted by ID.
func (h *Host) PeerInfos() []PeerInfo {
	net := h.host.Network()
	ids := net.Peers()
	out := make([]PeerInfo, 0, len(ids))
	for _, id := range ids {
		conns := net.ConnsToPeer(id)
		if len(conns) == 0 {
			continue // closed since Peers
		}
		pi := PeerInfo{ID: id.String(), Direction: "inbound", Score: h.PeerScore(id.String())}
		if conns[0].Stat().Direction == network.DirOutbound {
			pi.Direction = "outbound"
		}
		for _, c := range conns {
			pi.Addrs = append(pi.Addrs, c.RemoteMultiaddr().String())
		}
		out = append(out, pi)
	}
	slices.SortFunc(out, func(a, b PeerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}
