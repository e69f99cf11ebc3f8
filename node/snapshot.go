package node

import (
	"cmp"
	"slices"
	"time"
)

// Snapshot is what the node holds right now, for the operator page: its
// agents with their presence, the agents on other nodes it knows of and its
// channels with their member counts. It carries no keys, IPs or content.
type Snapshot struct {
	Agents   []AgentView   `json:"agents"`
	Remotes  []RemoteView  `json:"remotes"`
	Channels []ChannelView `json:"channels"`
}

// AgentView is one agent connected here.
type AgentView struct {
	ID         string    `json:"id"` // "@id"
	Name       string    `json:"name"`
	Presence   string    `json:"presence"`
	Verified   bool      `json:"verified"`
	Persistent bool      `json:"persistent"` // has a pubkey, not ephemeral
	Parked     bool      `json:"parked"`
	Since      time.Time `json:"connected_at"`
}

// RemoteView is one agent on another node, from the roster.
type RemoteView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Presence string `json:"presence"`
	Verified bool   `json:"verified"`
	Node     string `json:"node"` // the hosting node's peer ID
}

// ChannelView is one channel and how many agents are in it.
type ChannelView struct {
	Name         string `json:"name"`
	Members      int    `json:"members"`        // here
	Remote       int    `json:"remote_members"` // on other nodes
	InviteOnly   bool   `json:"invite_only"`
	VerifiedOnly bool   `json:"verified_only"`
}

// Snapshot returns the node's agents, remote agents and channels, each
// sorted by name then ID (channels in creation order).
func (s *Server) Snapshot() Snapshot {
	var snap Snapshot
	s.mu.RLock()
	for _, c := range s.agents {
		a := c.agent
		snap.Agents = append(snap.Agents, AgentView{ID: a.at(), Name: a.name, Presence: a.presence,
			Verified: a.verified, Persistent: a.pubkey != "", Parked: c.rstate.Load() == rsParked, Since: c.connected})
	}
	for _, r := range s.remotes {
		snap.Remotes = append(snap.Remotes, RemoteView{ID: "@" + r.rec.ID, Name: r.rec.Name, Presence: r.rec.Presence,
			Verified: r.rec.Verified, Node: r.node})
	}
	chans := make([]*channel, 0, len(s.chanOrder))
	for _, name := range s.chanOrder {
		if ch := s.channels[name]; ch != nil {
			chans = append(chans, ch)
		}
	}
	s.mu.RUnlock()
	for _, ch := range chans {
		ch.mu.Lock()
		snap.Channels = append(snap.Channels, ChannelView{Name: ch.name, Members: len(ch.members), Remote: len(ch.remotes),
			InviteOnly: ch.inviteOnly, VerifiedOnly: ch.verifiedOnly})
		ch.mu.Unlock()
	}
	slices.SortFunc(snap.Agents, func(a, b AgentView) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(snap.Remotes, func(a, b RemoteView) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return snap
}
