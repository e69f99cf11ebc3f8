package market

import (
	"context"
	"slices"

	"github.com/agentchat/mesh/protocol"
)

var (
	errNotPendingArbiter = protocol.Errorf(protocol.CodeDisputeNotArbiter, "Not a pending arbiter for this dispute")
	errCannotVote        = "Cannot vote: %s"
)

// acceptSeat implements ARBITER_ACCEPT (§13.6). When every seat is taken
// by an arbiter who accepted, the evidence period opens. Unlike the
// original, seats given up by a decline or a timeout do not count against
// that (§28.2).
func (m *Machine) acceptSeat(ctx context.Context, from Caller, msg *protocol.ArbiterAccept, out *outbox) *protocol.Error {
	k := m.caseCopy(msg.DisputeID)
	if k == nil {
		return errNoCase
	}
	if err := checkCaller(from, protocol.ArbiterAcceptSigningString(msg.DisputeID), msg.Sig); err != nil {
		return err
	}
	s := k.slotOf("@"+from.ID, slotPending)
	if k.Phase != phaseResponse || s == nil {
		return errNotPendingArbiter
	}
	s.Status, s.Pubkey, s.Deadline = slotAccepted, from.Pubkey, 0
	var sent outbox
	if k.count(slotAccepted) == PanelSize {
		m.openEvidence(k, &sent)
	}
	if err := m.commitCase(ctx, k); err != nil {
		return errStore
	}
	*out = append(*out, sent...)
	return nil
}

// declineSeatFrame implements ARBITER_DECLINE (§13.6): the signature is
// checked if there is one; a decline by anyone but a pending arbiter, or
// outside the response phase, changes nothing and is not answered.
func (m *Machine) declineSeatFrame(ctx context.Context, from Caller, msg *protocol.ArbiterDecline, out *outbox) *protocol.Error {
	m.mu.Lock()
	known := m.cases[msg.DisputeID] != nil
	m.mu.Unlock()
	if !known {
		return errNoCase
	}
	if msg.Sig != "" {
		if err := checkCaller(from, protocol.ArbiterDeclineSigningString(msg.DisputeID, msg.Reason), msg.Sig); err != nil {
			return err
		}
	}
	return m.declineSeat(ctx, msg.DisputeID, "@"+from.ID, out)
}

// declineSeat gives up arbiter's pending seat and seats a replacement.
// Caller holds courtMu.
func (m *Machine) declineSeat(ctx context.Context, id, arbiter string, out *outbox) *protocol.Error {
	k := m.caseCopy(id)
	if k == nil || k.Phase != phaseResponse {
		return nil
	}
	s := k.slotOf(arbiter, slotPending)
	if s == nil {
		return nil
	}
	s.Status, s.Deadline = slotDeclined, 0
	var sent outbox
	m.replace(k, "Unable to form arbiter panel after replacements", &sent)
	if err := m.commitCase(ctx, k); err != nil {
		return errStore
	}
	*out = append(*out, sent...)
	return nil
}

// replace seats the next candidate of the shuffled pool who never sat on
// the panel, counting a replacement round; past MaxReplacements rounds, or
// with no candidate left, the case falls back with reason.
func (m *Machine) replace(k *courtCase, reason string, out *outbox) {
	k.Replacements++
	if k.Replacements > MaxReplacements {
		m.fallback(k, reason, out)
		return
	}
	seated := k.arbiters()
	for _, a := range k.Order {
		if slices.Contains(seated, a) {
			continue
		}
		s := &slot{Arbiter: a, Status: slotPending, Deadline: m.now() + m.court.Response.Milliseconds()}
		k.Slots = append(k.Slots, s)
		out.add(a, m.assignment(k, s, true))
		return
	}
	m.fallback(k, reason, out)
}

// vote implements ARBITER_VOTE (§13.6): a seated arbiter votes once during
// deliberation; when every seated arbiter has voted the case is resolved.
func (m *Machine) vote(ctx context.Context, from Caller, msg *protocol.ArbiterVote, out *outbox) *protocol.Error {
	k := m.caseCopy(msg.DisputeID)
	if k == nil {
		return errNoCase
	}
	if err := checkCaller(from, protocol.ArbiterVoteSigningString(msg.DisputeID, msg.Verdict), msg.Sig); err != nil {
		return err
	}
	s := k.slotOf("@"+from.ID, slotAccepted)
	switch {
	case k.Phase != phaseVote:
		return protocol.Errorf(protocol.CodeDisputeNotArbiter, errCannotVote, "dispute is not in deliberation")
	case m.now() > k.Deadline:
		return protocol.Errorf(protocol.CodeDisputeNotArbiter, errCannotVote, "vote deadline passed")
	case protocol.UTF16Len(msg.Reasoning) > MaxReasoningChars:
		return protocol.Errorf(protocol.CodeDisputeNotArbiter, errCannotVote, "reasoning exceeds 500 characters")
	case s == nil:
		return protocol.Errorf(protocol.CodeDisputeNotArbiter, errCannotVote, "not a seated arbiter or already voted")
	}
	s.Status, s.Verdict, s.Reasoning, s.Sig, s.Pubkey = slotVoted, msg.Verdict, msg.Reasoning, msg.Sig, from.Pubkey
	var sent outbox
	if k.count(slotAccepted) == 0 {
		if err := m.resolve(ctx, k, &sent); err != nil {
			return err
		}
	}
	if err := m.commitCase(ctx, k); err != nil {
		return errStore
	}
	*out = append(*out, sent...)
	return nil
}
