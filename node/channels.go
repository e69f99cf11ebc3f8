package node

import (
	"github.com/agentchat/mesh/protocol"
)

// addMember adds c to ch and tells the other members (AGENT_JOINED). It
// reports false if c was already a member. Caller holds s.mu.
func (s *Server) addMember(ch *channel, c *conn, a *agent) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if _, ok := ch.members[c]; ok {
		return false
	}
	ch.members[c] = struct{}{}
	a.channels[ch] = struct{}{}
	ch.announce(s.cfg.PresenceLimit, &protocol.AgentJoined{Type: protocol.TypeAgentJoined, TS: nowMS(),
		Channel: ch.name, Agent: a.at(), Name: a.name, Verified: a.verified}, c)
	return true
}

func chanNotFound(name string) *protocol.Error {
	return protocol.Errorf(protocol.CodeChannelNotFound, "Channel %s not found", name)
}

func notMember(name string) *protocol.Error {
	return protocol.Errorf(protocol.CodeNotInvited, "Not a member of %s", name)
}

// handleJoin implements JOIN (§8.2): AGENT_JOINED to others on a first
// join, JOINED to the joiner, replay of the buffer, the "joined" notice.
func (s *Server) handleJoin(c *conn, a *agent, name string) *protocol.Error {
	s.mu.RLock()
	ch := s.channels[name]
	s.mu.RUnlock()
	if ch == nil {
		return chanNotFound(name)
	}
	ch.mu.Lock()
	served := len(ch.members) > 0
	ch.mu.Unlock()
	if !served {
		// The first local member: let the mesh subscribe and backfill the
		// buffer first, so the replay below matches every other node's.
		s.fed.Serve(s.ctx, name)
	}
	s.mu.Lock()
	ch.mu.Lock()
	_, invited := ch.invited[a.id]
	ch.mu.Unlock()
	if ch.inviteOnly && !invited {
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeNotInvited, "Not invited to %s", name)
	}
	if ch.verifiedOnly && !a.verified {
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeAuthRequired, "%s requires verified identity", name)
	}
	first := s.addMember(ch, c, a)
	rec := a.record()
	agentName := a.name

	// JOINED and the replay are queued under ch.mu, so no channel message
	// can slip between the member list and the replay.
	ch.mu.Lock()
	joined := &protocol.Joined{Type: protocol.TypeJoined, TS: nowMS(), Channel: name}
	joined.Agents, joined.Total = s.joinedMembers(ch, c)
	s.mu.Unlock()
	c.sendFrame(joined)
	for _, f := range ch.buf.snapshot() {
		f.Replay = true
		c.sendFrame(&f)
	}
	ch.mu.Unlock()

	if first {
		s.fed.Publish(Event{Kind: EventJoin, Agent: rec, Channel: name})
		s.notice(name, agentName+" joined "+name)
	}
	return nil
}

// joinedMembers lists ch's members for a JOINED to c: all of them, or in a
// channel over the presence limit c and up to PresenceLimit others, with the
// total (LIST_AGENTS lists everyone). Caller holds s.mu and ch.mu.
func (s *Server) joinedMembers(ch *channel, c *conn) ([]protocol.Member, int) {
	total := len(ch.members) + len(ch.remotes)
	limit := s.cfg.PresenceLimit
	if limit <= 0 || total <= limit {
		limit, total = total, 0
	}
	members := make([]protocol.Member, 0, limit+1)
	if c.agent != nil {
		members = append(members, c.agent.member())
	}
	for m := range ch.members {
		if len(members) > limit {
			return members, total
		}
		if m != c && m.agent != nil {
			members = append(members, m.agent.member())
		}
	}
	for id, r := range ch.remotes {
		if len(members) > limit {
			break
		}
		members = append(members, protocol.Member{ID: "@" + id, Name: r.rec.Name, Verified: r.rec.Verified})
	}
	return members, total
}

// handleLeave implements LEAVE (§8.3); an unknown channel is ignored.
func (s *Server) handleLeave(c *conn, a *agent, name string) {
	s.mu.Lock()
	ch := s.channels[name]
	if ch == nil {
		s.mu.Unlock()
		return
	}
	ch.mu.Lock()
	_, was := ch.members[c]
	ch.announce(s.cfg.PresenceLimit, &protocol.AgentLeft{Type: protocol.TypeAgentLeft, TS: nowMS(),
		Channel: name, Agent: a.at(), Name: a.name}, c)
	delete(ch.members, c)
	delete(a.channels, ch)
	ch.mu.Unlock()
	rec := a.record()
	s.mu.Unlock()
	c.sendFrame(&protocol.Left{Type: protocol.TypeLeft, TS: nowMS(), Channel: name})
	if was {
		s.fed.Publish(Event{Kind: EventLeave, Agent: rec, Channel: name})
	}
}

// handleListChannels answers LIST_CHANNELS (§8.5): public channels only.
func (s *Server) handleListChannels(c *conn) *protocol.Error {
	s.mu.RLock()
	list := make([]protocol.ChannelInfo, 0, len(s.chanOrder))
	for _, name := range s.chanOrder {
		ch := s.channels[name]
		if ch.inviteOnly {
			continue
		}
		ch.mu.Lock()
		n := len(ch.members) + len(ch.remotes)
		ch.mu.Unlock()
		list = append(list, protocol.ChannelInfo{Name: name, Agents: n, VerifiedOnly: ch.verifiedOnly})
	}
	s.mu.RUnlock()
	c.sendFrame(&protocol.Channels{Type: protocol.TypeChannels, TS: nowMS(), List: list})
	return nil
}

// handleListAgents answers LIST_AGENTS (§8.5); membership is not required.
func (s *Server) handleListAgents(c *conn, name string) *protocol.Error {
	s.mu.RLock()
	ch := s.channels[name]
	if ch == nil {
		s.mu.RUnlock()
		return chanNotFound(name)
	}
	ch.mu.Lock()
	list := make([]protocol.AgentInfo, 0, len(ch.members))
	for m := range ch.members {
		if a := m.agent; a != nil {
			list = append(list, protocol.AgentInfo{ID: a.at(), Name: a.name, Presence: a.presence,
				StatusText: a.statusText, Verified: a.verified})
		}
	}
	for id, r := range ch.remotes {
		list = append(list, protocol.AgentInfo{ID: "@" + id, Name: r.rec.Name, Presence: orOnline(r.rec.Presence),
			StatusText: r.rec.StatusText, Verified: r.rec.Verified})
	}
	ch.mu.Unlock()
	s.mu.RUnlock()
	c.sendFrame(&protocol.Agents{Type: protocol.TypeAgents, TS: nowMS(), Channel: name, List: list})
	return nil
}

// handleCreateChannel implements CREATE_CHANNEL (§8.4).
func (s *Server) handleCreateChannel(c *conn, a *agent, m *protocol.CreateChannel) *protocol.Error {
	s.mu.Lock()
	if !a.verified {
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeAuthRequired, "Only verified agents can create channels")
	}
	if s.channels[m.Channel] != nil {
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeChannelExists, "Channel %s already exists", m.Channel)
	}
	if m.InviteOnly && !s.cfg.PrivateChannels {
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeInvalidMsg, "Private channels are disabled on this server")
	}
	ch := s.addChannel(m.Channel, m.InviteOnly, m.VerifiedOnly)
	if m.InviteOnly {
		ch.invited[a.id] = struct{}{}
	}
	ch.members[c] = struct{}{}
	a.channels[ch] = struct{}{}
	rec := a.record()
	s.mu.Unlock()
	c.log().Info("channel created", "channel", m.Channel, "invite_only", m.InviteOnly)
	// The creator is the channel's first member here: the mesh carries it
	// from now on, as for a first JOIN, or messages from members on other
	// nodes would never reach this one. The creator's next frame is read
	// only after this returns, so nothing it sends precedes the topic.
	s.fed.Serve(s.ctx, m.Channel)
	c.sendFrame(&protocol.Joined{Type: protocol.TypeJoined, TS: nowMS(), Channel: m.Channel, Agents: []string{a.at()}})
	s.fed.Publish(Event{Kind: EventChannelCreated, Agent: rec, Channel: m.Channel,
		InviteOnly: m.InviteOnly, VerifiedOnly: m.VerifiedOnly})
	s.fed.Publish(Event{Kind: EventJoin, Agent: rec, Channel: m.Channel}) // the roster lists the creator as a member
	return nil
}

// handleInvite implements INVITE (§8.4): no reply to the inviter; the
// invitee, if online here, gets an invite notice.
func (s *Server) handleInvite(c *conn, a *agent, m *protocol.Invite) *protocol.Error {
	target := m.Agent[1:]
	s.mu.RLock()
	ch := s.channels[m.Channel]
	if ch == nil {
		s.mu.RUnlock()
		return chanNotFound(m.Channel)
	}
	ch.mu.Lock()
	_, member := ch.members[c]
	if member {
		ch.invited[target] = struct{}{}
	}
	ch.mu.Unlock()
	invitee := s.agents[target]
	rec := a.record()
	s.mu.RUnlock()
	if !member {
		return notMember(m.Channel)
	}
	s.fed.Publish(Event{Kind: EventInvite, Agent: rec, Channel: m.Channel, Target: target})
	notice := &protocol.MsgFrame{Type: protocol.TypeMsg, TS: nowMS(), From: rec.at(), FromName: rec.Name,
		To: m.Agent, Content: "You have been invited to " + m.Channel}
	if invitee != nil {
		invitee.sendFrame(notice)
	} else if b, err := protocol.Encode(notice); err == nil {
		_ = s.fed.SendDirect(s.ctx, rec, target, b) // best effort: the invite itself is recorded
	}
	return nil
}

// notice posts a server notice to a channel and buffers it (§9.2).
func (s *Server) notice(name, content string) {
	if !s.cfg.Notices {
		return
	}
	s.mu.RLock()
	ch := s.channels[name]
	s.mu.RUnlock()
	if ch == nil {
		return
	}
	f := protocol.MsgFrame{Type: protocol.TypeMsg, TS: nowMS(), From: "@server", FromName: "Server", To: name, Content: content}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if l := s.cfg.PresenceLimit; l > 0 && len(ch.members)+len(ch.remotes) > l {
		return
	}
	b, err := protocol.Encode(&f)
	if err != nil {
		return
	}
	ch.buf.push(f)
	ch.broadcast(b, nil)
}

func orOnline(p string) string {
	if p == "" {
		return "online"
	}
	return p
}
