package node

import (
	"errors"
	"sort"
	"strconv"

	"github.com/agentchat/mesh/protocol"
)

// Errors the bridge branches on when it reports remote agents.
var (
	// ErrIDConflict means another key (or another ephemeral agent) already
	// holds this wire ID; the claim is refused, never merged.
	ErrIDConflict = errors.New("agent ID is held by a different identity")
	// ErrStaleSession means the local session of this agent is newer than
	// the remote claim; the remote node should displace its own.
	ErrStaleSession = errors.New("local session is newer")
)

// RemoteAgent is an agent hosted by another node, as the bridge learns it
// from the mesh: its record and the channels it is in.
type RemoteAgent struct {
	Record   AgentRecord
	Node     string // hosting node's peer ID
	Channels []string
}

// ChannelMeta is a channel's mesh-wide description.
type ChannelMeta struct {
	Name         string   `json:"name"`
	InviteOnly   bool     `json:"invite_only,omitempty"`
	VerifiedOnly bool     `json:"verified_only,omitempty"`
	Invited      []string `json:"invited,omitempty"`
}

// remote is a RemoteAgent as the node holds it. Guarded by Server.mu; its
// channel membership is mirrored in channel.remotes under channel.mu.
type remote struct {
	rec      AgentRecord
	node     string
	channels map[*channel]struct{}
}

// UpsertRemote records or updates an agent on another node and tells local
// members what changed: AGENT_JOINED / AGENT_LEFT per channel, NICK_CHANGED,
// PRESENCE_CHANGED. A claim on the ID of a local agent is resolved here:
// a different key is ErrIDConflict; the same key displaces whichever
// session authenticated earlier (ErrStaleSession if that is the remote).
func (s *Server) UpsertRemote(ra RemoteAgent) error {
	id := ra.Record.ID
	s.mu.Lock()
	var displaced *conn
	if local := s.agents[id]; local != nil {
		la := local.agent
		if la.pubkey == "" || la.pubkey != ra.Record.Pubkey {
			s.mu.Unlock()
			return ErrIDConflict
		}
		if !newerProof(ra.Record.Proof, la.proof, ra.Node, hexKey(s.bind)) {
			s.mu.Unlock()
			return ErrStaleSession
		}
		s.unregisterLocked(local)
		displaced = local
	}
	r := s.remotes[id]
	if r != nil && r.node != ra.Node {
		// Another node already hosts this ID: only the same key may move,
		// and only with a newer session; an ephemeral ID is never shared.
		if r.rec.Pubkey == "" || r.rec.Pubkey != ra.Record.Pubkey {
			s.mu.Unlock()
			return ErrIDConflict
		}
		if !newerProof(ra.Record.Proof, r.rec.Proof, ra.Node, r.node) {
			s.mu.Unlock()
			return ErrStaleSession
		}
	}
	if r != nil && r.rec.Pubkey != ra.Record.Pubkey {
		s.mu.Unlock()
		return ErrIDConflict
	}
	if r == nil {
		r = &remote{channels: map[*channel]struct{}{}}
		s.remotes[id] = r
	}
	old := r.rec
	r.rec, r.node = ra.Record, ra.Node
	want := map[*channel]struct{}{}
	for _, name := range ra.Channels {
		if ch := s.channels[name]; ch != nil {
			want[ch] = struct{}{}
		} else if protocol.ValidChannel(name) {
			want[s.addChannel(name, false, false)] = struct{}{}
		}
	}
	at := "@" + id
	for ch := range r.channels {
		if _, keep := want[ch]; !keep {
			ch.mu.Lock()
			ch.announce(s.cfg.PresenceLimit, &protocol.AgentLeft{Type: protocol.TypeAgentLeft, TS: nowMS(), Channel: ch.name, Agent: at}, nil)
			delete(ch.remotes, id)
			ch.mu.Unlock()
			delete(r.channels, ch)
		}
	}
	for ch := range want {
		if _, had := r.channels[ch]; had {
			continue
		}
		ch.mu.Lock()
		ch.remotes[id] = r
		ch.announce(s.cfg.PresenceLimit, &protocol.AgentJoined{Type: protocol.TypeAgentJoined, TS: nowMS(), Channel: ch.name,
			Agent: at, Name: r.rec.Name, Verified: r.rec.Verified}, nil)
		ch.mu.Unlock()
		r.channels[ch] = struct{}{}
	}
	var peers []*conn
	if old.ID != "" && (old.Name != r.rec.Name || old.Presence != r.rec.Presence || !sameText(old.StatusText, r.rec.StatusText)) {
		peers = s.localMembersLocked(r.channels)
	}
	s.mu.Unlock()

	if displaced != nil {
		displaced.sendFrame(&protocol.SessionDisplaced{Type: protocol.TypeSessionDisplaced, TS: nowMS(),
			Reason: "Another connection verified this identity", NewIP: "unknown"})
		displaced.closeWith(protocol.CloseNormal, "Identity claimed by verified connection")
		displaced.log().Info("session displaced by a verified session on another node", "node", ra.Node)
	}
	if len(peers) > 0 {
		if old.Name != r.rec.Name {
			sendAll(peers, &protocol.NickChanged{Type: protocol.TypeNickChanged, TS: nowMS(), AgentID: at, OldNick: old.Name, NewNick: r.rec.Name})
		}
		if old.Presence != r.rec.Presence || !sameText(old.StatusText, r.rec.StatusText) {
			sendAll(peers, &protocol.PresenceChanged{Type: protocol.TypePresenceChanged, TS: nowMS(), AgentID: at,
				Name: r.rec.Name, Presence: r.rec.Presence, StatusText: r.rec.StatusText})
		}
	}
	return nil
}

// newerProof reports whether the remote session authenticated after the
// local one: the agent's own challenge timestamps decide, the node IDs break
// ties, so every node reaches the same verdict.
func newerProof(remote, local *SessionProof, remoteNode, localNode string) bool {
	switch {
	case remote == nil:
		return false
	case local == nil:
		return true
	case remote.Timestamp != local.Timestamp:
		return remote.Timestamp > local.Timestamp
	}
	return remoteNode > localNode
}

func sameText(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func sendAll(conns []*conn, frame any) {
	b, err := protocol.Encode(frame)
	if err != nil {
		return
	}
	for _, c := range conns {
		c.send(b)
	}
}

// localMembersLocked lists local members of the given channels, once each.
// Caller holds s.mu.
func (s *Server) localMembersLocked(chans map[*channel]struct{}) []*conn {
	seen := map[*conn]struct{}{}
	var out []*conn
	for ch := range chans {
		ch.mu.Lock()
		for m := range ch.members {
			if _, dup := seen[m]; !dup {
				seen[m] = struct{}{}
				out = append(out, m)
			}
		}
		ch.mu.Unlock()
	}
	return out
}

// RemoveRemote forgets a remote agent that went offline from node: AGENT_LEFT
// to local members of its channels. A node can only withdraw agents it
// hosts, so a late "gone" from an agent's old node does not remove it from
// its new one.
func (s *Server) RemoveRemote(id, node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.remotes[id]; r != nil && r.node == node {
		s.removeRemoteLocked(id)
	}
}

func (s *Server) removeRemoteLocked(id string) {
	r := s.remotes[id]
	if r == nil {
		return
	}
	delete(s.remotes, id)
	s.dropFloorsLocked(id)
	for ch := range r.channels {
		ch.mu.Lock()
		ch.announce(s.cfg.PresenceLimit, &protocol.AgentLeft{Type: protocol.TypeAgentLeft, TS: nowMS(), Channel: ch.name, Agent: "@" + id}, nil)
		delete(ch.remotes, id)
		ch.mu.Unlock()
	}
}

// RemoveNode forgets every agent hosted by node (it left the mesh).
func (s *Server) RemoveNode(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.remotes {
		if r.node == node {
			s.removeRemoteLocked(id)
		}
	}
}

// RemoteHost returns the node hosting a remote agent and its record.
func (s *Server) RemoteHost(id string) (AgentRecord, string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r := s.remotes[id]; r != nil {
		return r.rec, r.node, true
	}
	return AgentRecord{}, "", false
}

// LocalAgent returns a local agent's record.
func (s *Server) LocalAgent(id string) (AgentRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.agents[id]; c != nil {
		return c.agent.record(), true
	}
	return AgentRecord{}, false
}

// LocalAgentState returns a local agent's record and channels.
func (s *Server) LocalAgentState(id string) (RemoteAgent, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.agents[id]
	if c == nil {
		return RemoteAgent{}, false
	}
	return localState(c.agent), true
}

func localState(a *agent) RemoteAgent {
	ra := RemoteAgent{Record: a.record()}
	for ch := range a.channels {
		ra.Channels = append(ra.Channels, ch.name)
	}
	sort.Strings(ra.Channels)
	return ra
}

// LocalAgents lists the agents hosted here with their channels, for the
// roster snapshot other nodes fetch.
func (s *Server) LocalAgents() []RemoteAgent {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]RemoteAgent, 0, len(s.agents))
	for _, c := range s.agents {
		out = append(out, localState(c.agent))
	}
	return out
}

// DeliverChannel hands a channel message from another node to local
// members and the replay buffer, and releases its author's floor claims in
// the channel as a local message does. An unknown channel is created
// (public): channels are mesh-wide.
func (s *Server) DeliverChannel(name string, f protocol.MsgFrame, b []byte) {
	s.mu.Lock()
	ch := s.channels[name]
	if ch == nil {
		ch = s.addChannel(name, false, false)
	}
	s.mu.Unlock()
	if len(f.From) > 1 { // released before members see the message, so a claim they send next finds it so
		s.releaseFloors(f.From[1:], name)
	}
	ch.mu.Lock()
	ch.buf.push(f)
	ch.broadcast(b, nil)
	ch.mu.Unlock()
}

// RemoteMembers counts the agents on other nodes in a channel, as the
// roster reports them.
func (s *Server) RemoteMembers(name string) int {
	return s.countIn(name, func(ch *channel) int { return len(ch.remotes) })
}

// LocalMembers counts the agents connected here in a channel.
func (s *Server) LocalMembers(name string) int {
	return s.countIn(name, func(ch *channel) int { return len(ch.members) })
}

// countIn applies count to channel name under its lock; 0 if unknown.
func (s *Server) countIn(name string, count func(*channel) int) int {
	s.mu.RLock()
	ch := s.channels[name]
	s.mu.RUnlock()
	if ch == nil {
		return 0
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return count(ch)
}

// DeliverDirect hands a DM or file chunk from another node to a local agent;
// false if the agent is not here.
func (s *Server) DeliverDirect(id string, b []byte) bool {
	s.mu.RLock()
	c := s.agents[id]
	s.mu.RUnlock()
	if c == nil {
		return false
	}
	c.send(b)
	return true
}

// EnsureChannel applies a channel's mesh-wide description: creates it if
// unknown and adds its invites.
func (s *Server) EnsureChannel(m ChannelMeta) {
	if !protocol.ValidChannel(m.Name) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[m.Name]
	if ch == nil {
		ch = s.addChannel(m.Name, m.InviteOnly, m.VerifiedOnly)
	}
	ch.mu.Lock()
	for _, id := range m.Invited {
		ch.invited[id] = struct{}{}
	}
	ch.mu.Unlock()
}

// ChannelMetas describes every channel this node knows.
func (s *Server) ChannelMetas() []ChannelMeta {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ChannelMeta, 0, len(s.chanOrder))
	for _, name := range s.chanOrder {
		ch := s.channels[name]
		m := ChannelMeta{Name: name, InviteOnly: ch.inviteOnly, VerifiedOnly: ch.verifiedOnly}
		ch.mu.Lock()
		for id := range ch.invited {
			m.Invited = append(m.Invited, id)
		}
		ch.mu.Unlock()
		sort.Strings(m.Invited)
		out = append(out, m)
	}
	return out
}

// History returns a channel's replay buffer, oldest first.
func (s *Server) History(name string) []protocol.MsgFrame {
	s.mu.RLock()
	ch := s.channels[name]
	s.mu.RUnlock()
	if ch == nil {
		return nil
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.buf.snapshot()
}

// SeedHistory merges frames fetched from a peer into a channel's buffer:
// messages already held (same msg_id) are skipped, the result is ordered
// by ts and trimmed to the buffer size.
func (s *Server) SeedHistory(name string, frames []protocol.MsgFrame) {
	s.mu.Lock()
	ch := s.channels[name]
	if ch == nil {
		ch = s.addChannel(name, false, false)
	}
	s.mu.Unlock()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	have := ch.buf.snapshot()
	seen := make(map[string]bool, len(have))
	for _, f := range have {
		seen[histKey(f)] = true
	}
	merged := have
	for _, f := range frames {
		f.Replay = false
		if !seen[histKey(f)] {
			seen[histKey(f)] = true
			merged = append(merged, f)
		}
	}
	sort.SliceStable(merged, func(i, j int) bool { return merged[i].TS < merged[j].TS })
	ch.buf = ring{frames: make([]protocol.MsgFrame, 0, s.cfg.BufferSize), max: s.cfg.BufferSize}
	for _, f := range merged {
		ch.buf.push(f)
	}
}

// histKey identifies a buffered message across nodes: agent messages by
// msg_id, notices (which have none) by time and text.
func histKey(f protocol.MsgFrame) string {
	return f.MsgID + "|" + strconv.FormatInt(f.TS, 10) + "|" + f.From + "|" + f.Content
}
