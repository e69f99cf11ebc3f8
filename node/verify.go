package node

import (
	"time"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// verifyReq is a pending VERIFY_REQUEST (§15).
type verifyReq struct {
	id        string
	requester *conn
	target    *conn
	targetAt  string // "@id" as the requester named it
	nonce     string
	expires   time.Time
}

// handleVerifyRequest implements VERIFY_REQUEST (§15): the target is asked
// to sign the nonce; the requester gets a pending acknowledgement.
func (s *Server) handleVerifyRequest(c *conn, a *agent, m *protocol.VerifyRequest) *protocol.Error {
	s.mu.Lock()
	target := s.agents[m.Target[1:]]
	if target == nil {
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeAgentNotFound, "Agent %s not found", m.Target)
	}
	if target.agent.pubkey == "" {
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeNoPubkey, "Agent %s has no public key", m.Target)
	}
	r := &verifyReq{id: newID("verify_"), requester: c, target: target, targetAt: m.Target,
		nonce: m.Nonce, expires: time.Now().Add(s.cfg.VerifyTimeout)}
	s.verifies[r.id] = r
	s.mu.Unlock()
	target.sendFrame(&protocol.VerifyRequestFrame{Type: protocol.TypeVerifyRequest, TS: nowMS(),
		RequestID: r.id, From: a.at(), Nonce: m.Nonce})
	c.sendFrame(&protocol.VerifyRequestFrame{Type: protocol.TypeVerifyRequest, TS: nowMS(),
		RequestID: r.id, Target: m.Target, Status: "pending"})
	return nil
}

// handleVerifyResponse checks the target's signature over the nonce with
// its session key and reports to both sides.
func (s *Server) handleVerifyResponse(c *conn, a *agent, m *protocol.VerifyResponse) *protocol.Error {
	s.mu.Lock()
	r := s.verifies[m.RequestID]
	switch {
	case r == nil || time.Now().After(r.expires):
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeVerificationExpired, "Verification request not found or expired")
	case r.target != c:
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeInvalidMsg, "Not the target of this verification request")
	case r.nonce != m.Nonce:
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeInvalidMsg, "Nonce mismatch")
	}
	delete(s.verifies, r.id)
	s.mu.Unlock()
	pub, err := identity.ParsePublicPEM(a.pubkey)
	ok := err == nil && identity.Verify(pub, m.Nonce, m.Sig)
	if ok {
		r.requester.sendFrame(&protocol.VerifyResult{Type: protocol.TypeVerifySuccess, TS: nowMS(),
			RequestID: r.id, Agent: r.targetAt, Pubkey: a.pubkey})
		c.sendFrame(&protocol.VerifyResult{Type: protocol.TypeVerifySuccess, TS: nowMS(), RequestID: r.id, Verified: boolPtr(true)})
		return nil
	}
	r.requester.sendFrame(&protocol.VerifyResult{Type: protocol.TypeVerifyFailed, TS: nowMS(),
		RequestID: r.id, Target: r.targetAt, Reason: "Signature verification failed"})
	c.sendFrame(&protocol.VerifyResult{Type: protocol.TypeVerifyFailed, TS: nowMS(), RequestID: r.id, Verified: boolPtr(false)})
	return nil
}

// expireVerifies tells requesters whose target did not answer in time.
func (s *Server) expireVerifies(now time.Time) {
	var expired []*verifyReq
	s.mu.Lock()
	for id, r := range s.verifies {
		if now.After(r.expires) {
			delete(s.verifies, id)
			expired = append(expired, r)
		}
	}
	s.mu.Unlock()
	for _, r := range expired {
		r.requester.sendFrame(&protocol.VerifyResult{Type: protocol.TypeVerifyFailed, TS: nowMS(),
			RequestID: r.id, Target: r.targetAt, Reason: "Verification timed out"})
	}
}
