package node

import "github.com/agentchat/mesh/protocol"

// agent is an identified session's state. Guarded by Server.mu; the ID and
// pubkey never change after registration.
type agent struct {
	id         string // wire ID, no "@"
	pubkey     string // PEM as sent; "" for ephemeral agents
	name       string // IDENTIFY name, later the nick
	verified   bool
	presence   string
	statusText *string
	channels   map[*channel]struct{}
	proof      *SessionProof
	callbacks  []callback // pending @@cb timers; dropped on disconnect
}

// at is the agent's wire reference, "@id".
func (a *agent) at() string { return "@" + a.id }

func (a *agent) caller() Caller {
	return Caller{ID: a.id, Name: a.name, Pubkey: a.pubkey, Verified: a.verified}
}

func (a *agent) record() AgentRecord {
	return AgentRecord{ID: a.id, Name: a.name, Pubkey: a.pubkey, Verified: a.verified,
		Presence: a.presence, StatusText: a.statusText, Proof: a.proof}
}

func (a *agent) member() protocol.Member {
	return protocol.Member{ID: a.at(), Name: a.name, Verified: a.verified}
}

// agentOf returns c's agent, or nil before WELCOME.
func (s *Server) agentOf(c *conn) *agent {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return c.agent
}

func (r AgentRecord) at() string { return "@" + r.ID }
