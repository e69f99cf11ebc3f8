package market

import (
	"context"

	"github.com/agentchat/mesh/protocol"
)

// handleCourt runs the agentcourt frames (§13); anything else is not a
// marketplace operation of this node.
func (m *Machine) handleCourt(ctx context.Context, from Caller, msg protocol.Message, c Courier) *protocol.Error {
	var op func(out *outbox) *protocol.Error
	switch msg := msg.(type) {
	case *protocol.DisputeIntent:
		op = func(out *outbox) *protocol.Error { return m.fileDispute(ctx, from, msg, out) }
	case *protocol.DisputeReveal:
		op = func(out *outbox) *protocol.Error { return m.revealDispute(ctx, from, msg, out) }
	case *protocol.Evidence:
		op = func(out *outbox) *protocol.Error { return m.submitEvidence(ctx, from, msg, out) }
	case *protocol.ArbiterAccept:
		op = func(out *outbox) *protocol.Error { return m.acceptSeat(ctx, from, msg, out) }
	case *protocol.ArbiterDecline:
		op = func(out *outbox) *protocol.Error { return m.declineSeatFrame(ctx, from, msg, out) }
	case *protocol.ArbiterVote:
		op = func(out *outbox) *protocol.Error { return m.vote(ctx, from, msg, out) }
	default:
		return errUnavailable
	}
	return m.courtCall(ctx, c, op)
}

// caseOpen reports whether proposal id has an agentcourt case under way,
// which settles it: COMPLETE and DISPUTE wait for the case to end.
func (m *Machine) caseOpenLocked(id string) bool {
	k := m.cases[m.caseOf[id]]
	return k != nil && k.open()
}
