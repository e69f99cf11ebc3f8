package node

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// adminOK compares a presented admin key with the configured one in
// constant time (hashing both first, so lengths leak nothing either).
func (s *Server) adminOK(key string) bool {
	if s.cfg.AdminKey == "" {
		return false
	}
	want := sha256.Sum256([]byte(s.cfg.AdminKey))
	got := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

func adminResult(fields ...protocol.KV) *protocol.AdminResult {
	return &protocol.AdminResult{TS: nowMS(), Fields: fields}
}

func kv(k string, v any) protocol.KV { return protocol.KV{Key: k, Value: v} }

var errBadAdminKey = protocol.Errorf(protocol.CodeAuthRequired, "Invalid admin key")

// handleAdmin runs the admin operations of §16. They need no identity: the
// admin key is the only authorisation. One key guards all of them (the
// original split them over two environment variables; see docs).
func (s *Server) handleAdmin(c *conn, m protocol.Message) *protocol.Error {
	switch m := m.(type) {
	case *protocol.AdminApprove:
		return s.adminApprove(c, m)
	case *protocol.AdminRevoke:
		if on, _ := s.Allowlist(); !on {
			return protocol.Errorf(protocol.CodeInvalidMsg, "Allowlist not configured")
		}
		if !s.adminOK(m.AdminKey) {
			return errBadAdminKey
		}
		ident := m.Pubkey
		if ident == "" {
			ident = m.AgentID
		}
		ok, err := s.access.revoke(s.ctx, ident)
		if err != nil {
			s.log.Error("revoke allowlist entry", "err", err)
			return protocol.Errorf(protocol.CodeInvalidMsg, "Could not store the change")
		}
		if !ok {
			return protocol.Errorf(protocol.CodeAgentNotFound, "not found")
		}
		c.sendFrame(adminResult(kv("action", "revoke"), kv("success", true)))
	case *protocol.AdminList:
		if on, _ := s.Allowlist(); !on {
			return protocol.Errorf(protocol.CodeInvalidMsg, "Allowlist not configured")
		}
		if !s.adminOK(m.AdminKey) {
			return errBadAdminKey
		}
		type listed struct {
			AgentID      string `json:"agentId"`
			PubkeyPrefix string `json:"pubkeyPrefix"`
			ApprovedAt   string `json:"approvedAt"`
			Note         string `json:"note"`
		}
		entries := []listed{}
		for _, e := range s.access.entries() {
			prefix := e.Pubkey
			if len(prefix) > 40 {
				prefix = prefix[:40]
			}
			entries = append(entries, listed{"@" + e.AgentID, prefix + "...", e.ApprovedAt, e.Note})
		}
		on, strict := s.Allowlist()
		c.sendFrame(adminResult(kv("action", "list"), kv("entries", entries),
			kv("enabled", on), kv("strict", strict)))
	case *protocol.AdminKick:
		return s.adminKick(c, m)
	case *protocol.AdminBan:
		return s.adminBan(c, m)
	case *protocol.AdminUnban:
		if s.cfg.AdminKey == "" {
			return errNoModeration
		}
		if !s.adminOK(m.AdminKey) {
			return errBadAdminKey
		}
		id := strings.TrimPrefix(m.AgentID, "@")
		ok, err := s.access.unban(s.ctx, id)
		if err != nil {
			s.log.Error("unban", "err", err)
			return protocol.Errorf(protocol.CodeInvalidMsg, "Could not store the change")
		}
		if !ok {
			return protocol.Errorf(protocol.CodeAgentNotFound, "agent not banned")
		}
		s.log.Info("agent unbanned", "agent", id)
		c.sendFrame(adminResult(kv("action", "unban"), kv("success", true), kv("agentId", "@"+id)))
	case *protocol.AdminMotd:
		return s.adminMotd(c, m)
	case *protocol.AdminVerify:
		if !s.adminOK(m.AdminKey) {
			return errBadAdminKey
		}
		id := strings.TrimPrefix(m.AgentID, "@")
		s.mu.Lock()
		target := s.agents[id]
		if target != nil {
			target.agent.verified = m.Verified
		}
		s.mu.Unlock()
		if target == nil {
			return protocol.Errorf(protocol.CodeAgentNotFound, "Agent @%s not found", id)
		}
		note := "An admin marked your identity as verified"
		if !m.Verified {
			note = "An admin removed your verified status"
		}
		target.sendFrame(adminResult(kv("action", "verify"), kv("success", true), kv("verified", m.Verified), kv("note", note)))
		c.sendFrame(adminResult(kv("action", "verify"), kv("success", true), kv("agentId", m.AgentID), kv("verified", m.Verified)))
	}
	return nil
}

var errNoModeration = protocol.Errorf(protocol.CodeInvalidMsg, "Moderation not configured (no admin key)")

func (s *Server) adminApprove(c *conn, m *protocol.AdminApprove) *protocol.Error {
	if on, _ := s.Allowlist(); !on {
		return protocol.Errorf(protocol.CodeInvalidMsg, "Allowlist not configured")
	}
	if !s.adminOK(m.AdminKey) {
		return errBadAdminKey
	}
	if _, err := identity.ParsePublicPEM(m.Pubkey); err != nil {
		return protocol.Errorf(protocol.CodeInvalidMsg, protocol.TextInvalidPubkey)
	}
	id, err := s.access.approve(s.ctx, m.Pubkey, m.Note)
	if err != nil {
		s.log.Error("approve", "err", err)
		return protocol.Errorf(protocol.CodeInvalidMsg, "Could not store the change")
	}
	s.log.Info("allowlist approved", "agent", id)
	c.sendFrame(adminResult(kv("action", "approve"), kv("success", true), kv("agentId", "@"+id)))
	return nil
}

// moderationTarget checks the key and the agent ID of KICK and BAN.
func (s *Server) moderationTarget(key, agentID string) (string, *protocol.Error) {
	if s.cfg.AdminKey == "" {
		return "", errNoModeration
	}
	if !s.adminOK(key) {
		return "", errBadAdminKey
	}
	id := strings.TrimPrefix(agentID, "@")
	if !identity.ValidAgentID(id) {
		return "", protocol.Errorf(protocol.CodeInvalidMsg, "Invalid agent_id")
	}
	return id, nil
}

func (s *Server) adminKick(c *conn, m *protocol.AdminKick) *protocol.Error {
	id, perr := s.moderationTarget(m.AdminKey, m.AgentID)
	if perr != nil {
		return perr
	}
	s.mu.RLock()
	target := s.agents[id]
	s.mu.RUnlock()
	if target == nil {
		return protocol.Errorf(protocol.CodeAgentNotFound, "Agent @%s not found", id)
	}
	reason := m.Reason
	if reason == "" {
		reason = "Kicked by admin"
	}
	target.sendFrame(&protocol.Kicked{Type: protocol.TypeKicked, TS: nowMS(), Reason: reason})
	s.disconnect(target)
	target.closeWith(protocol.CloseNormal, "Kicked by admin")
	s.log.Info("agent kicked", "agent", id)
	c.sendFrame(adminResult(kv("action", "kick"), kv("success", true), kv("agentId", "@"+id)))
	return nil
}

func (s *Server) adminBan(c *conn, m *protocol.AdminBan) *protocol.Error {
	id, perr := s.moderationTarget(m.AdminKey, m.AgentID)
	if perr != nil {
		return perr
	}
	reason := m.Reason
	if reason == "" {
		reason = "Banned by admin"
	}
	if err := s.access.ban(s.ctx, id, reason); err != nil {
		s.log.Error("ban", "err", err)
		return protocol.Errorf(protocol.CodeInvalidMsg, "Could not store the change")
	}
	online := s.banOnline(id, reason)
	s.log.Info("agent banned", "agent", id, "online", online)
	c.sendFrame(adminResult(kv("action", "ban"), kv("success", true), kv("agentId", "@"+id)))
	return nil
}

// banOnline tells agent id, if it is connected here, that it is banned
// and closes it (§16.2), for ADMIN_BAN and honoured operator bans alike.
// It reports whether the agent was online.
func (s *Server) banOnline(id, reason string) bool {
	s.mu.RLock()
	target := s.agents[id]
	s.mu.RUnlock()
	if target == nil {
		return false
	}
	target.sendFrame(&protocol.Banned{Type: protocol.TypeBanned, TS: nowMS(), Reason: reason})
	s.disconnect(target)
	target.closeWith(protocol.CloseNormal, "Banned by admin")
	return true
}

// adminMotd sets the MOTD, tells every socket, and with kick closes every
// other socket with 1001 half a second later (§16.3).
func (s *Server) adminMotd(c *conn, m *protocol.AdminMotd) *protocol.Error {
	if !s.adminOK(m.AdminKey) {
		return errBadAdminKey
	}
	s.mu.Lock()
	s.motd = m.Motd
	conns := make([]*conn, 0, len(s.conns))
	for o := range s.conns {
		conns = append(conns, o)
	}
	s.mu.Unlock()
	if b, err := protocol.Encode(&protocol.MotdUpdate{Type: protocol.TypeMotdUpdate, TS: nowMS(), Motd: m.Motd}); err == nil {
		for _, o := range conns {
			o.send(b)
		}
	}
	var motd any
	if m.Motd != nil {
		motd = *m.Motd
	}
	c.sendFrame(adminResult(kv("action", "motd"), kv("success", true), kv("motd", motd), kv("kicked", m.Kick)))
	if !m.Kick {
		return nil
	}
	s.log.Info("maintenance kick", "sockets", len(conns)-1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-time.After(500 * time.Millisecond):
		case <-s.ctx.Done():
			return
		}
		for _, o := range conns {
			if o != c {
				o.closeWith(protocol.CloseGoingAway, "Server maintenance")
			}
		}
	}()
	return nil
}
