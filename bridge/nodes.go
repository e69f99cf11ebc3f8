package bridge

import (
	"slices"
	"strings"
	"time"
)

// NodeInfo is one other node whose roster this node holds.
type NodeInfo struct {
	PeerID   string    `json:"peer_id"`
	Agents   int       `json:"agents"`
	LastSeen time.Time `json:"last_seen"` // last roster message from it
}

// Nodes lists the other nodes of the mesh this node has heard from, sorted
// by peer ID.
func (b *Bridge) Nodes() []NodeInfo {
	b.mu.Lock()
	out := make([]NodeInfo, 0, len(b.nodes))
	for id, n := range b.nodes {
		out = append(out, NodeInfo{PeerID: id, Agents: len(n.agents), LastSeen: n.lastSeen})
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(a, c NodeInfo) int { return strings.Compare(a.PeerID, c.PeerID) })
	return out
}
