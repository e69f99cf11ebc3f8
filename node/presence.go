package node

import (
	"strings"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// reservedNicks may not be taken, case-insensitively (§10.2).
var reservedNicks = map[string]bool{"server": true, "admin": true, "system": true, "root": true,
	"moderator": true, "mod": true, "bot": true, "agentchat": true, "operator": true,
	"shadow": true, "god": true, "jc": true}

// handleSetPresence implements SET_PRESENCE (§10.1): PRESENCE_CHANGED once
// to every other agent sharing a channel; no reply.
func (s *Server) handleSetPresence(c *conn, a *agent, m *protocol.SetPresence) {
	s.mu.Lock()
	a.presence, a.statusText = m.Status, m.StatusText
	frame := &protocol.PresenceChanged{Type: protocol.TypePresenceChanged, TS: nowMS(), AgentID: a.at(),
		Name: a.name, Presence: a.presence, StatusText: a.statusText}
	peers := s.peersLocked(c, a)
	rec := a.record()
	s.mu.Unlock()
	if b, err := protocol.Encode(frame); err == nil {
		for _, p := range peers {
			p.send(b)
		}
	}
	s.fed.Publish(Event{Kind: EventAgentUpdated, Agent: rec})
}

// peersLocked returns every other connection sharing a channel with a,
// once each. Caller holds s.mu.
func (s *Server) peersLocked(c *conn, a *agent) []*conn {
	seen := make(map[*conn]struct{})
	var out []*conn
	for ch := range a.channels {
		ch.mu.Lock()
		for m := range ch.members {
			if _, dup := seen[m]; !dup && m != c {
				seen[m] = struct{}{}
				out = append(out, m)
			}
		}
		ch.mu.Unlock()
	}
	return out
}

// handleSetNick implements SET_NICK (§10.2): NICK_CHANGED to each of the
// agent's channels (the agent included), then once more to the agent.
func (s *Server) handleSetNick(c *conn, a *agent, m *protocol.SetNick, now time.Time) *protocol.Error {
	if reservedNicks[strings.ToLower(m.Nick)] {
		return protocol.Errorf(protocol.CodeInvalidName, "Nick %q is reserved", m.Nick)
	}
	if s.cfg.RateLimits && !c.lastNick.IsZero() && now.Sub(c.lastNick) < s.cfg.NickInterval {
		wait := (s.cfg.NickInterval - now.Sub(c.lastNick) + time.Second - 1) / time.Second
		return protocol.Errorf(protocol.CodeRateLimited, "Nick change rate limited. Try again in %ds", wait)
	}
	c.lastNick = now
	s.mu.Lock()
	old := a.name
	if old == "" {
		old = "anon_" + a.id
	}
	a.name = m.Nick
	b, err := protocol.Encode(&protocol.NickChanged{Type: protocol.TypeNickChanged, TS: nowMS(),
		AgentID: a.at(), OldNick: old, NewNick: m.Nick})
	if err == nil {
		for ch := range a.channels {
			ch.mu.Lock()
			ch.broadcast(b, nil)
			ch.mu.Unlock()
		}
	}
	rec := a.record()
	s.mu.Unlock()
	if err == nil {
		c.send(b)
	}
	s.fed.Publish(Event{Kind: EventAgentUpdated, Agent: rec})
	return nil
}

// handleTyping relays TYPING to the other members (§9.6), on this node and
// on the others; nothing is answered, whatever happens.
func (s *Server) handleTyping(c *conn, a *agent, m *protocol.Typing) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if b := s.typingLocked(m.Channel, a.record(), c); b != nil {
		s.fed.Publish(Event{Kind: EventTyping, Agent: a.record(), Channel: m.Channel, Frame: b})
	}
}

// DeliverTyping relays a TYPING of from, an agent of another node, to
// the channel's local members.
func (s *Server) DeliverTyping(channel string, from AgentRecord) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.typingLocked(channel, from, nil)
}

// typingLocked sends from's TYPING to the members of channel but skip and
// returns the frame; nil if the channel does not exist. Caller holds s.mu.
func (s *Server) typingLocked(channel string, from AgentRecord, skip *conn) []byte {
	ch := s.channels[channel]
	if ch == nil {
		return nil
	}
	return ch.relay(&protocol.TypingFrame{Type: protocol.TypeTyping, TS: nowMS(),
		From: "@" + from.ID, FromName: from.Name, Channel: channel}, skip)
}
