package node

import (
	"github.com/agentchat/mesh/protocol"
)

// Proposals live on their proposer's node. The market of the node hosting
// the proposal's recipient forwards the recipient's ACCEPT, REJECT,
// COMPLETE and DISPUTE there through the federation (Courier.Forward), with
// the caller's attested record; HandleForwarded runs them on arrival.

// isProposalOp reports the operations that can be forwarded: those on a
// proposal, and the agentcourt frames, which go to the node holding the
// case (its proposal's node).
func isProposalOp(m protocol.Message) bool {
	switch m.(type) {
	case *protocol.Accept, *protocol.Reject, *protocol.Complete, *protocol.Dispute,
		*protocol.DisputeIntent, *protocol.DisputeReveal, *protocol.Evidence,
		*protocol.ArbiterAccept, *protocol.ArbiterDecline, *protocol.ArbiterVote:
		return true
	}
	return false
}

// HandleForwarded runs a marketplace frame that an agent hosted by node
// sent about a proposal this node holds. The federation has checked that
// node hosts from. It returns the frames for the caller, an ERROR frame
// included.
func (s *Server) HandleForwarded(from AgentRecord, node string, raw []byte) [][]byte {
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
	if !isProposalOp(m) {
		return reply(protocol.Errorf(protocol.CodeInvalidMsg, "Only proposal operations can be forwarded"))
	}
	k := courier{s: s, from: &from, collect: &out}
	if perr := s.market.Handle(s.ctx, from.caller(node), m, k); perr != nil {
		return reply(perr)
	}
	return out
}

// ObserveProposal is called by the federation when a PROPOSAL from an
// agent hosted by node reached a local agent.
func (s *Server) ObserveProposal(from AgentRecord, node string, frame []byte) {
	s.market.Observe(from.caller(node), frame)
}

// DeliverNotice hands an agentcourt frame that node sent on its own account
// to a local agent, and tells the market that node holds the dispute it
// names; false if the agent is not here.
func (s *Server) DeliverNotice(id, node string, b []byte) bool {
	if !s.DeliverDirect(id, b) {
		return false
	}
	s.market.ObserveCase(node, b)
	return true
}

// caller is the market's view of a remote agent hosted by node.
func (r AgentRecord) caller(node string) Caller {
	return Caller{ID: r.ID, Name: r.Name, Pubkey: r.Pubkey, Verified: r.Verified, Node: node}
}
