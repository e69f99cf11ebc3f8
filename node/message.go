package node

import (
	"errors"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// handleMsg routes MSG (§9.1): spacing limit, then to a channel (members
// except the sender, buffer, mesh) or to an agent (target and echo).
func (s *Server) handleMsg(c *conn, a *agent, m *protocol.Msg, now time.Time) *protocol.Error {
	if s.cfg.RateLimits && now.Sub(c.lastMsg) < s.cfg.MsgInterval {
		if s.cfg.MsgInterval == time.Second {
			return protocol.Errorf(protocol.CodeRateLimited, "Rate limit exceeded (max 1 message per second)")
		}
		return protocol.Errorf(protocol.CodeRateLimited, "Rate limit exceeded (max 1 message per %s)", s.cfg.MsgInterval)
	}
	c.lastMsg = now // consumed even if routing fails, as the original does

	content, redacted := s.redact.redact(m.Content)
	if redacted {
		c.log().Warn("secret redacted from message", "to", m.To)
	}
	cleaned, cbs := extractCallbacks(content, now)
	if cleaned != "" || len(cbs) > 0 {
		content = cleaned // else: markers without a usable callback; keep the text
	}
	if len(cbs) > 0 {
		s.mu.Lock()
		a.addCallbacks(cbs)
		s.mu.Unlock()
		if content == "" {
			return nil // only markers: nothing to route
		}
	}

	s.mu.RLock()
	f := protocol.MsgFrame{Type: protocol.TypeMsg, TS: now.UnixMilli(), From: a.at(), FromName: a.name,
		To: m.To, Content: content, MsgID: newMsgID(now.UnixMilli()), Verified: boolPtr(a.verified),
		Sig: m.Sig, InReplyTo: m.InReplyTo}
	if m.Sig != "" && m.TS != 0 {
		ts := m.TS
		f.SigTS = &ts
	}
	if m.To[0] == '@' {
		s.mu.RUnlock()
		return s.routeDirect(c, a.record(), f)
	}
	ch := s.channels[m.To]
	if ch == nil {
		s.mu.RUnlock()
		return chanNotFound(m.To)
	}
	b, err := protocol.Encode(&f)
	if err != nil {
		s.mu.RUnlock()
		return protocol.Errorf(protocol.CodeInvalidMsg, "Message could not be encoded")
	}
	ch.mu.Lock()
	if _, ok := ch.members[c]; !ok {
		ch.mu.Unlock()
		s.mu.RUnlock()
		return notMember(m.To)
	}
	ch.buf.push(f)
	ch.broadcast(b, c) // a channel message is not echoed to its sender
	// Queued under ch.mu, so the mesh sees this channel's messages in the
	// order local members did.
	s.fed.Publish(Event{Kind: EventChannelMsg, Agent: a.record(), Channel: m.To, Frame: b})
	ch.mu.Unlock()
	s.mu.RUnlock()
	s.releaseFloors(a.id, m.To)
	return nil
}

// routeDirect delivers a DM to a local agent (by ID, else by exact name),
// or through the mesh; the sender gets an echo (§9.1 historical relay).
func (s *Server) routeDirect(c *conn, from AgentRecord, f protocol.MsgFrame) *protocol.Error {
	target := s.lookupAgent(f.To[1:])
	if target != nil {
		f.To = target.agent.at()
	}
	b, err := protocol.Encode(&f)
	if err != nil {
		return protocol.Errorf(protocol.CodeInvalidMsg, "Message could not be encoded")
	}
	if target != nil {
		target.send(b)
	} else if !s.sendRemote(c, from, f.To[1:], b) {
		return protocol.Errorf(protocol.CodeAgentNotFound, "Agent %s not found", f.To)
	}
	c.send(b)
	return nil
}

// lookupAgent finds a local agent by ID, else by exact name.
func (s *Server) lookupAgent(ref string) *conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.agents[ref]; c != nil {
		return c
	}
	for _, c := range s.agents {
		if c.agent.name == ref {
			return c
		}
	}
	return nil
}

// handleFileChunk relays FILE_CHUNK to its target only (§21): no echo, no
// buffering, spaced by ChunkInterval.
func (s *Server) handleFileChunk(c *conn, a *agent, m *protocol.FileChunk, now time.Time) *protocol.Error {
	if s.cfg.RateLimits && now.Sub(c.lastChunk) < s.cfg.ChunkInterval {
		return protocol.Errorf(protocol.CodeRateLimited, "File chunk rate limit (max %d/sec)", time.Second/s.cfg.ChunkInterval)
	}
	c.lastChunk = now
	id := m.To[1:]
	s.mu.RLock()
	target := s.agents[id]
	from := a.record()
	s.mu.RUnlock()
	f := &protocol.FileChunkFrame{Type: protocol.TypeFileChunk, TS: now.UnixMilli(), From: a.at(), To: m.To, Content: m.Content}
	b, err := protocol.Encode(f)
	if err != nil {
		return protocol.Errorf(protocol.CodeInvalidMsg, "Chunk could not be encoded")
	}
	if target != nil {
		target.send(b)
		return nil
	}
	if !s.sendRemote(c, from, id, b) {
		return protocol.Errorf(protocol.CodeAgentNotFound, "Agent %s not found", m.To)
	}
	return nil
}

// sendRemote hands a direct frame for agent id to the mesh; false: it was
// not delivered (a failure other than an unknown agent is logged).
func (s *Server) sendRemote(c *conn, from AgentRecord, id string, b []byte) bool {
	err := s.fed.SendDirect(s.ctx, from, id, b)
	if err != nil && !errors.Is(err, ErrNoRoute) {
		c.log().Warn("direct frame not delivered", "to", "@"+id, "err", err)
	}
	return err == nil
}
