package node

import (
	"time"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// verifyReq is a pending VERIFY_REQUEST (§15). Either side may be on
// another node (verify_mesh.go): the requester's node keeps one with
// target nil, the target's node one with requester nil.
type verifyReq struct {
	id        string
	requester *conn  // nil: on node reqNode
	reqNode   string // the requester's node, when requester is nil
	target    *conn  // nil: on another node
	targetID  string // wire ID, no "@"
	targetAt  string // "@id" as the requester named it
	nonce     string
	expires   time.Time
	// asked is closed once the requester has its acknowledgement, so an
	// answer from a remote target never overtakes it; nil for a local
	// target.
	asked chan struct{}
}

// handleVerifyRequest implements VERIFY_REQUEST (§15): the target is asked
// to sign the nonce; the requester gets a pending acknowledgement.
func (s *Server) handleVerifyRequest(c *conn, a *agent, m *protocol.VerifyRequest) *protocol.Error {
	s.mu.Lock()
	target := s.agents[m.Target[1:]]
	if target == nil {
		s.mu.Unlock()
		return s.askRemote(c, a, m)
	}
	if target.agent.pubkey == "" {
		s.mu.Unlock()
		return noPubkey(m.Target)
	}
	r := &verifyReq{id: newID("verify_"), requester: c, target: target, targetID: target.agent.id, targetAt: m.Target,
		nonce: m.Nonce, expires: time.Now().Add(s.cfg.VerifyTimeout)}
	s.verifies[r.id] = r
	s.mu.Unlock()
	target.sendFrame(targetAsk(r.id, a.id, m.Nonce))
	r.acknowledge()
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
		return errVerifyExpired
	case r.target != c:
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeInvalidMsg, "Not the target of this verification request")
	case r.nonce != m.Nonce:
		s.mu.Unlock()
		return protocol.Errorf(protocol.CodeInvalidMsg, "Nonce mismatch")
	}
	delete(s.verifies, r.id)
	rec := a.record()
	s.mu.Unlock()
	ok := signedNonce(a.pubkey, m.Nonce, m.Sig)
	if r.requester == nil {
		var expired bool
		if ok, expired = s.answerRemote(r, rec, m, ok); expired {
			return errVerifyExpired
		}
	} else {
		r.report(ok, a.pubkey)
	}
	t := protocol.TypeVerifyFailed
	if ok {
		t = protocol.TypeVerifySuccess
	}
	c.sendFrame(&protocol.VerifyResult{Type: t, TS: nowMS(), RequestID: r.id, Verified: boolPtr(ok)})
	return nil
}

var errVerifyExpired = protocol.Errorf(protocol.CodeVerificationExpired, "Verification request not found or expired")

func noPubkey(target string) *protocol.Error {
	return protocol.Errorf(protocol.CodeNoPubkey, "Agent %s has no public key", target)
}

// signedNonce reports whether sig is the Ed25519 signature of the key in
// pubkey (PEM) over nonce.
func signedNonce(pubkey, nonce, sig string) bool {
	pub, err := identity.ParsePublicPEM(pubkey)
	return err == nil && identity.Verify(pub, nonce, sig)
}

func targetAsk(id, from, nonce string) *protocol.VerifyRequestFrame {
	return &protocol.VerifyRequestFrame{Type: protocol.TypeVerifyRequest, TS: nowMS(), RequestID: id, From: "@" + from, Nonce: nonce}
}

// acknowledge sends the requester its pending acknowledgement.
func (r *verifyReq) acknowledge() {
	r.requester.sendFrame(&protocol.VerifyRequestFrame{Type: protocol.TypeVerifyRequest, TS: nowMS(),
		RequestID: r.id, Target: r.targetAt, Status: "pending"})
}

// report tells the requester the outcome; pubkey is the target's PEM.
func (r *verifyReq) report(ok bool, pubkey string) {
	if ok {
		r.requester.sendFrame(&protocol.VerifyResult{Type: protocol.TypeVerifySuccess, TS: nowMS(),
			RequestID: r.id, Agent: r.targetAt, Pubkey: pubkey})
		return
	}
	r.requester.sendFrame(&protocol.VerifyResult{Type: protocol.TypeVerifyFailed, TS: nowMS(),
		RequestID: r.id, Target: r.targetAt, Reason: "Signature verification failed"})
}

// expireVerifies tells requesters here whose target did not answer in
// time; a request kept for a requester on another node just ends (that
// node times it out itself).
func (s *Server) expireVerifies(now time.Time) {
	var expired []*verifyReq
	s.mu.Lock()
	for id, r := range s.verifies {
		if now.After(r.expires) {
			delete(s.verifies, id)
			if r.requester != nil {
				expired = append(expired, r)
			}
		}
	}
	s.mu.Unlock()
	for _, r := range expired {
		r.requester.sendFrame(&protocol.VerifyResult{Type: protocol.TypeVerifyFailed, TS: nowMS(),
			RequestID: r.id, Target: r.targetAt, Reason: "Verification timed out"})
	}
}
