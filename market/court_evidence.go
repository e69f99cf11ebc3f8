package market

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/agentchat/mesh/protocol"
)

var (
	errEvidence    = protocol.Errorf(protocol.CodeDisputeDeadlinePassed, "Evidence submission failed (deadline passed or limit exceeded)")
	errBadEvidence = protocol.Errorf(protocol.CodeInvalidMsg, "Each evidence item must be a JSON object")
)

// submitEvidence implements EVIDENCE (§13.7): each party submits once
// during the evidence period. The period closes early once both have, as
// the design documents have it (the original waits out the timer).
func (m *Machine) submitEvidence(ctx context.Context, from Caller, msg *protocol.Evidence, out *outbox) *protocol.Error {
	k := m.caseCopy(msg.DisputeID)
	switch {
	case k == nil:
		return errNoCase
	case !k.party("@" + from.ID):
		return errNotCaseParty
	}
	jsr, err := protocol.JSR(msg.Items)
	if err != nil {
		return errBadEvidence
	}
	if err := checkCaller(from, protocol.EvidenceSigningString(msg.DisputeID, jsr), msg.Sig); err != nil {
		return err
	}
	var items []json.RawMessage
	if json.Unmarshal(msg.Items, &items) != nil {
		return errBadEvidence
	}
	for _, it := range items {
		if t := bytes.TrimSpace(it); len(t) == 0 || t[0] != '{' {
			return errBadEvidence
		}
	}
	party := "@" + from.ID
	switch {
	case k.Phase != phaseEvidence, m.now() > k.Deadline, k.Evidence[party] != nil,
		len(items) > MaxEvidenceItems, protocol.UTF16Len(msg.Statement) > MaxStatementChars:
		return errEvidence
	}
	if k.Evidence == nil {
		k.Evidence = map[string]*evidence{}
	}
	k.Evidence[party] = &evidence{Items: msg.Items, Statement: msg.Statement, Sig: msg.Sig}
	var sent outbox
	ack := &protocol.EvidenceReceived{Type: protocol.TypeEvidenceReceived, TS: m.now(), DisputeID: k.ID,
		From: party, ItemsCount: len(items)}
	sent.toParties(k, ack)
	for _, s := range k.Slots {
		if s.Status == slotAccepted || s.Status == slotVoted {
			sent.add(s.Arbiter, ack)
		}
	}
	if len(k.Evidence) == 2 {
		m.openDeliberation(k, &sent)
	}
	if err := m.commitCase(ctx, k); err != nil {
		return errStore
	}
	*out = append(*out, sent...)
	return nil
}

// openEvidence starts the evidence period and tells the parties.
func (m *Machine) openEvidence(k *courtCase, out *outbox) {
	now := m.now()
	k.Phase, k.Deadline = phaseEvidence, now+m.court.Evidence.Milliseconds()
	text := "The panel for dispute " + k.ID + " is seated. Submit evidence (EVIDENCE) by " +
		time.UnixMilli(k.Deadline).UTC().Format(time.RFC3339Nano)
	out.add(k.Disputant, notice(k.Disputant, now, text))
	out.add(k.Respondent, notice(k.Respondent, now, text))
}

// openDeliberation ends the evidence period and hands the case to the
// seated arbiters.
func (m *Machine) openDeliberation(k *courtCase, out *outbox) {
	now := m.now()
	k.Phase, k.Deadline = phaseVote, now+m.court.Vote.Milliseconds()
	proposal, _ := json.Marshal(map[string]any{"id": k.ProposalID, "from": k.Proposal.From, "to": k.Proposal.To,
		"task": k.Proposal.Task, "amount": falsyAmount(k.Proposal.Amount), "currency": strPtr(k.Proposal.Currency)})
	ready := &protocol.CaseReady{Type: protocol.TypeCaseReady, TS: now, DisputeID: k.ID, Proposal: proposal,
		Disputant: k.Disputant, DisputantEvidence: evidenceView(k.Evidence[k.Disputant]),
		Respondent: k.Respondent, RespondentEvidence: evidenceView(k.Evidence[k.Respondent]), VoteDeadline: k.Deadline}
	for _, s := range k.Slots {
		if s.Status == slotAccepted {
			out.add(s.Arbiter, ready)
		}
	}
}

// evidenceView is a submission as CASE_READY shows it: each item with its
// hash (§7.4), or null for a party that submitted nothing.
func evidenceView(e *evidence) json.RawMessage {
	if e == nil {
		return json.RawMessage("null")
	}
	var raws []json.RawMessage
	_ = json.Unmarshal(e.Items, &raws) // objects, checked at submission
	items := make([]map[string]json.RawMessage, len(raws))
	for i, raw := range raws {
		_ = json.Unmarshal(raw, &items[i])
		if h, err := protocol.EvidenceItemHash(raw); err == nil {
			items[i]["hash"], _ = json.Marshal(h)
		}
	}
	b, _ := json.Marshal(map[string]any{"items": items, "statement": e.Statement, "sig": e.Sig})
	return b
}
