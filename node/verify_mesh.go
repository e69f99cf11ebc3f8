package node

import (
	"errors"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// VERIFY_REQUEST across nodes. The requester's node keeps the request (and
// its timeout) and asks the target's node through the federation
// (AskVerify); that node keeps it too, so its agent's VERIFY_RESPONSE gets
// the same checks as on one node, and returns the answer (AnswerVerify).
// The requester's node checks the signature itself, with the key of the
// target's attested record, so the verdict the requester gets does not
// rest on the word of the target's node.

// VerifyAsk is a VERIFY_REQUEST on its way to the target's node.
type VerifyAsk struct {
	RequestID string // chosen by the requester's node; the target sees it
	Target    string // wire ID, no "@"
	Nonce     string
}

// VerifyAnswer is the target's VERIFY_RESPONSE on its way back.
type VerifyAnswer struct {
	RequestID, Nonce, Sig string
}

// VerifyVerdict is what the requester's node made of an answer.
type VerifyVerdict string

// The verdicts of HandleVerifyAnswer.
const (
	VerdictVerified VerifyVerdict = "verified" // the signature checks: VERIFY_SUCCESS
	VerdictFailed   VerifyVerdict = "failed"   // it does not: VERIFY_FAILED
	VerdictExpired  VerifyVerdict = "expired"  // no such request pending (timed out)
)

// errAnswerRefused means an answer did not match its request (another
// target or nonce); the request stays pending.
var errAnswerRefused = errors.New("verification answer does not match the request")

// askRemote sends a VERIFY_REQUEST for an agent that is not local to the
// node hosting it. The request is pending before the ask leaves, so an
// answer that comes back at once finds it.
func (s *Server) askRemote(c *conn, a *agent, m *protocol.VerifyRequest) *protocol.Error {
	r := &verifyReq{id: newID("verify_"), requester: c, targetID: m.Target[1:], targetAt: m.Target,
		nonce: m.Nonce, expires: time.Now().Add(s.cfg.VerifyTimeout), asked: make(chan struct{})}
	defer close(r.asked)
	s.mu.Lock()
	s.verifies[r.id] = r
	rec := a.record()
	s.mu.Unlock()
	err := s.fed.AskVerify(s.ctx, rec, VerifyAsk{RequestID: r.id, Target: r.targetID, Nonce: m.Nonce})
	if err == nil {
		r.acknowledge()
		return nil
	}
	s.mu.Lock()
	delete(s.verifies, r.id)
	s.mu.Unlock()
	switch {
	case errors.Is(err, ErrNoPubkey):
		return noPubkey(m.Target)
	case errors.Is(err, ErrTooManyVerifies):
		return protocol.Errorf(protocol.CodeRateLimited, "Too many verification requests pending at the node of %s; try again later", m.Target)
	case !errors.Is(err, ErrNoRoute):
		c.log().Warn("verification request not delivered", "to", m.Target, "err", err)
	}
	return protocol.Errorf(protocol.CodeAgentNotFound, "Agent %s not found", m.Target)
}

// MaxRemoteVerifies bounds the VERIFY_REQUESTs one other node may have
// pending here, so a node cannot hold unbounded state here, or flood a
// local agent, with asks (each is kept for VerifyTimeout).
const MaxRemoteVerifies = 64

// pendingFrom counts the requests node has pending here. Caller holds s.mu.
func (s *Server) pendingFrom(node string) int {
	n := 0
	for _, r := range s.verifies {
		if r.reqNode == node {
			n++
		}
	}
	return n
}

// HandleVerifyAsk takes a VERIFY_REQUEST from agent from, hosted by node,
// to a local agent. The federation has checked that node hosts from.
// ErrNoRoute: the target is not here; ErrNoPubkey: it has no key;
// ErrDuplicateRequest: the request ID is taken; ErrTooManyVerifies: node
// has MaxRemoteVerifies requests pending here.
func (s *Server) HandleVerifyAsk(from AgentRecord, node string, ask VerifyAsk) error {
	s.mu.Lock()
	target := s.agents[ask.Target]
	switch {
	case target == nil:
		s.mu.Unlock()
		return ErrNoRoute
	case target.agent.pubkey == "":
		s.mu.Unlock()
		return ErrNoPubkey
	case s.verifies[ask.RequestID] != nil:
		s.mu.Unlock()
		return ErrDuplicateRequest
	case s.pendingFrom(node) >= MaxRemoteVerifies:
		s.mu.Unlock()
		return ErrTooManyVerifies
	}
	s.verifies[ask.RequestID] = &verifyReq{id: ask.RequestID, reqNode: node, target: target, targetID: ask.Target,
		targetAt: "@" + ask.Target, nonce: ask.Nonce, expires: time.Now().Add(s.cfg.VerifyTimeout)}
	s.mu.Unlock()
	target.sendFrame(targetAsk(ask.RequestID, from.ID, ask.Nonce))
	return nil
}

// answerRemote returns a local target's answer to the requester's node
// and returns the outcome the target is told: that node's verdict, or
// local (this node's own check) when it could not be asked. expired: the
// request is gone there, so the target gets VERIFICATION_EXPIRED.
func (s *Server) answerRemote(r *verifyReq, target AgentRecord, m *protocol.VerifyResponse, local bool) (ok, expired bool) {
	v, err := s.fed.AnswerVerify(s.ctx, r.reqNode, target, VerifyAnswer{RequestID: r.id, Nonce: m.Nonce, Sig: m.Sig})
	if err != nil {
		r.target.log().Warn("verification answer not delivered", "request", r.id, "err", err)
		return local, false
	}
	return v == VerdictVerified, v == VerdictExpired
}

// HandleVerifyAnswer takes target's answer to a request of a local agent
// (the federation has checked that the node returning it hosts target),
// checks the signature with target's key and tells the requester. An
// answer that does not match the request (target, nonce) is refused and
// leaves it pending.
func (s *Server) HandleVerifyAnswer(target AgentRecord, ans VerifyAnswer) (VerifyVerdict, error) {
	s.mu.Lock()
	r := s.verifies[ans.RequestID]
	switch {
	case r == nil:
		s.mu.Unlock()
		return VerdictExpired, nil
	case r.asked == nil || r.targetID != target.ID || r.nonce != ans.Nonce:
		s.mu.Unlock()
		return "", errAnswerRefused
	}
	s.mu.Unlock()
	select {
	case <-r.asked:
	case <-s.ctx.Done():
		return VerdictExpired, nil
	}
	s.mu.Lock()
	if s.verifies[r.id] != r || time.Now().After(r.expires) {
		s.mu.Unlock()
		return VerdictExpired, nil
	}
	delete(s.verifies, r.id)
	s.mu.Unlock()
	ok := signedNonce(target.Pubkey, ans.Nonce, ans.Sig)
	r.report(ok, target.Pubkey)
	if ok {
		return VerdictVerified, nil
	}
	return VerdictFailed, nil
}
