package market

import (
	"context"
	"fmt"

	"github.com/agentchat/mesh/protocol"
)

// Errors of §13.2 and §13.3.
var (
	errNoCase       = protocol.Errorf(protocol.CodeDisputeNotFound, "Dispute not found")
	errNotCaseParty = protocol.Errorf(protocol.CodeDisputeNotParty, "Not a party to this dispute")
	errMismatch     = protocol.Errorf(protocol.CodeDisputeCommitmentMismatch, "Nonce does not match commitment or dispute is not awaiting reveal")
	errCaseOpen     = protocol.Errorf(protocol.CodeInvalidProposal, "DISPUTE_IN_PROGRESS")
)

// fileDispute implements DISPUTE_INTENT (§13.2): a party of an accepted
// proposal opens a case, once per proposal. Unlike the original, a
// proposal already settled by a legacy DISPUTE cannot go to court as well
// (§28.4): it has its receipt.
func (m *Machine) fileDispute(ctx context.Context, from Caller, msg *protocol.DisputeIntent, out *outbox) *protocol.Error {
	if err := checkCaller(from, protocol.DisputeIntentSigningString(msg.ProposalID, msg.Reason, msg.Commitment), msg.Sig); err != nil {
		return err
	}
	now := m.now()
	m.mu.Lock()
	p := m.lookup(msg.ProposalID, now)
	var perr *protocol.Error
	switch {
	case p == nil:
		perr = protocol.Errorf(protocol.CodeProposalNotFound, "Proposal %s not found", msg.ProposalID)
	case p.status != protocol.StatusAccepted:
		perr = protocol.Errorf(protocol.CodeInvalidProposal, "Can only dispute accepted proposals")
	case "@"+from.ID != p.signed.From && from.ID != p.toID():
		perr = protocol.Errorf(protocol.CodeNotProposalParty, "Not a party to this proposal")
	case m.caseOf[msg.ProposalID] != "":
		perr = protocol.Errorf(protocol.CodeDisputeAlreadyExists, "A dispute already exists for this proposal")
	}
	if perr != nil {
		m.mu.Unlock()
		return perr
	}
	k := &courtCase{ID: newDisputeID(now), ProposalID: msg.ProposalID, Disputant: "@" + from.ID,
		Respondent: p.signed.From, Reason: msg.Reason, Commitment: msg.Commitment, IntentSig: msg.Sig,
		ServerNonce: newServerNonce(), Phase: phaseReveal, FiledAt: now, Deadline: now + m.court.Reveal.Milliseconds(),
		Proposal: p.signed, Accept: *p.accept, FromPub: p.fromPub, ToPub: p.toPub}
	if k.Respondent == k.Disputant {
		k.Respondent = "@" + p.toID()
	}
	m.mu.Unlock()
	if err := m.commitCase(ctx, k); err != nil {
		return errStore
	}
	out.reply(&protocol.DisputeIntentAck{Type: protocol.TypeDisputeIntentAck, TS: now, DisputeID: k.ID,
		ProposalID: k.ProposalID, ServerNonce: k.ServerNonce})
	out.add(k.Respondent, notice(k.Respondent, now,
		fmt.Sprintf("Dispute %s filed against you by %s on proposal %s: %s", k.ID, k.Disputant, k.ProposalID, k.Reason)))
	m.log.Info("dispute filed", "dispute", k.ID, "proposal", k.ProposalID, "by", from.ID)
	return nil
}

// revealDispute implements DISPUTE_REVEAL (§13.3): the nonce opens the
// commitment, the seed shuffles the pool, and the panel is seated.
func (m *Machine) revealDispute(ctx context.Context, from Caller, msg *protocol.DisputeReveal, out *outbox) *protocol.Error {
	m.mu.Lock()
	id := m.caseOf[msg.ProposalID]
	m.mu.Unlock()
	k := m.caseCopy(id)
	switch {
	case k == nil:
		return errNoCase
	case "@"+from.ID != k.Disputant:
		return errNotCaseParty
	}
	if err := checkCaller(from, protocol.DisputeRevealSigningString(msg.ProposalID, msg.Nonce), msg.Sig); err != nil {
		return err
	}
	if k.Phase != phaseReveal || protocol.Commitment(msg.Nonce) != k.Commitment {
		return errMismatch
	}
	now := m.now()
	k.Nonce, k.RevealSig, k.RevealedAt = msg.Nonce, msg.Sig, now
	k.Seed = protocol.DisputeSeed(k.ProposalID, msg.Nonce, k.ServerNonce)
	m.mu.Lock()
	table, lin := m.table, m.lineage
	m.mu.Unlock()
	k.Pool = CourtPool(table, lin, m.court, k.Disputant, k.Respondent)
	k.Order = protocol.SeededShuffle(k.Pool, k.Seed)
	var sent outbox
	if len(k.Pool) < PanelSize {
		m.fallback(k, fmt.Sprintf("Insufficient eligible arbiters (%d available, %d required)", len(k.Pool), PanelSize), &sent)
	} else {
		k.Phase, k.Deadline = phaseResponse, 0
		for _, a := range k.Order[:PanelSize] {
			k.Slots = append(k.Slots, &slot{Arbiter: a, Status: slotPending, Deadline: now + m.court.Response.Milliseconds()})
		}
		sent.toParties(k, &protocol.PanelFormed{Type: protocol.TypePanelFormed, TS: now, DisputeID: k.ID,
			ProposalID: k.ProposalID, Arbiters: k.arbiters(), Disputant: k.Disputant, Respondent: k.Respondent,
			Seed: k.Seed, ServerNonce: k.ServerNonce})
		for _, s := range k.Slots {
			sent.add(s.Arbiter, m.assignment(k, s, false))
		}
		sent.add(k.Disputant, &protocol.DisputeRevealed{Type: protocol.TypeDisputeRevealed, TS: now,
			DisputeID: k.ID, PanelSize: PanelSize, Seed: k.Seed})
	}
	if err := m.commitCase(ctx, k); err != nil {
		return errStore
	}
	*out = append(*out, sent...)
	return nil
}
