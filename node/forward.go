package node

import (
	"errors"

	"github.com/agentchat/mesh/protocol"
)

// Proposals live on their proposer's node. An ACCEPT, REJECT, COMPLETE or
// DISPUTE for a proposal this node does not hold is forwarded to that node
// through the federation, with the caller's attested record; the answers
// come back and are sent to the caller as if handled here.

// proposalID returns the proposal a marketplace operation is about.
func proposalID(m protocol.Message) string {
	switch m := m.(type) {
	case *protocol.Accept:
		return m.ProposalID
	case *protocol.Reject:
		return m.ProposalID
	case *protocol.Complete:
		return m.ProposalID
	case *protocol.Dispute:
		return m.ProposalID
	}
	return ""
}

// notFound reports the market's "no such proposal" answers.
func notFound(e *protocol.Error) bool {
	return e != nil && (e.Code == protocol.CodeProposalNotFound ||
		(e.Code == protocol.CodeInvalidProposal && e.Message == "PROPOSAL_NOT_FOUND"))
}

func (s *Server) forward(c *conn, a *agent, id string, raw []byte, local *protocol.Error) *protocol.Error {
	s.mu.RLock()
	rec := a.record()
	s.mu.RUnlock()
	frames, err := s.fed.Forward(s.ctx, rec, id, raw)
	if errors.Is(err, ErrNoRoute) {
		return local
	}
	if err != nil {
		c.log.Warn("forward marketplace operation", "proposal", id, "err", err)
		return local
	}
	for _, b := range frames {
		c.send(b)
	}
	return nil
}

// HandleForwarded runs a marketplace frame that an agent on another node
// sent about a proposal this node holds. The federation has checked that
// the node vouching for from hosts it. It returns the frames for the
// caller, an ERROR frame included.
func (s *Server) HandleForwarded(from AgentRecord, raw []byte) [][]byte {
	var out [][]byte
	reply := func(e *protocol.Error) [][]byte {
		if b, err := protocol.Encode(e.Frame(nowMS())); err == nil {
			out = append(out, b)
		}
		return out
	}
	m, perr := protocol.Decode(raw, s.cfg.Limits)
	if perr != nil {
		return reply(perr)
	}
	if proposalID(m) == "" {
		return reply(protocol.Errorf(protocol.CodeInvalidMsg, "Only proposal operations can be forwarded"))
	}
	caller := Caller{ID: from.ID, Name: from.Name, Pubkey: from.Pubkey, Verified: from.Verified}
	k := courier{s: s, from: &from, collect: &out}
	if perr := s.market.Handle(s.ctx, caller, m, k); perr != nil {
		return reply(perr)
	}
	return out
}
