package p2p

import (
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// denyGater is the connection gater behind Config.Deny: it refuses dials to
// a denied peer and inbound connections once the handshake names one.
// Routed requests to and from a denied peer pass through other nodes
// (Config.Deny).
type denyGater func(peer string) bool

func (d denyGater) InterceptPeerDial(p peer.ID) bool                 { return !d(p.String()) }
func (d denyGater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !d(p.String()) }
func (d denyGater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (d denyGater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !d(p.String())
}
func (d denyGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
