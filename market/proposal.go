package market

import (
	"context"
	"strings"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
)

// proposal is one proposal this node is authoritative for. Guarded by
// Machine.mu.
type proposal struct {
	signed    ledger.Proposal // as the proposer signed it
	fromPub   string
	toPub     string // set at ACCEPT
	status    string
	expiresAt *int64 // absolute ms
	updatedAt int64
	accept    *ledger.Accept
	reason    *string // REJECT reason
}

func (p *proposal) toID() string { return strings.TrimPrefix(p.signed.To, "@") }

// verify checks sig by the caller's key over text.
func verify(from Caller, text, sig string) *protocol.Error {
	pub, err := identity.ParsePublicPEM(from.Pubkey)
	if err != nil || !identity.Verify(pub, text, sig) {
		return errBadSig
	}
	return nil
}

// checkCaller applies the marketplace's entry rule: a verified agent whose
// signature over text verifies.
func checkCaller(from Caller, text, sig string) *protocol.Error {
	if !from.Verified || from.Pubkey == "" {
		return errUnverified
	}
	return verify(from, text, sig)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// falsyAmount is the original's `amount || null`.
func falsyAmount(a *float64) *float64 {
	if a == nil || *a == 0 {
		return nil
	}
	return a
}

// propose implements PROPOSAL (§11.2): the recipient must be reachable;
// the proposal goes to it and is echoed to the proposer.
func (m *Machine) propose(from Caller, msg *protocol.Proposal, c Courier) *protocol.Error {
	sp := ledger.Proposal{To: msg.To, Task: msg.Task, Amount: msg.Amount, Currency: msg.Currency,
		PaymentCode: msg.PaymentCode, Terms: msg.Terms, Expires: msg.Expires, EloStake: msg.EloStake, Sig: msg.Sig}
	if err := checkCaller(from, sp.SigningString(), msg.Sig); err != nil {
		return err
	}
	if m.SameAgent(from.ID, msg.To) { // one ID, or two keys of one rotation chain
		return errSelfDeal
	}
	now := m.now()
	sp.ProposalID = newProposalID(now)
	sp.From = "@" + from.ID
	sp.CreatedAt = now
	p := &proposal{signed: sp, fromPub: from.Pubkey, status: protocol.StatusPending, updatedAt: now}
	if msg.Expires != nil && *msg.Expires != 0 {
		at := now + int64(*msg.Expires*1000)
		p.expiresAt = &at
	}
	frame := &protocol.ProposalFrame{Type: protocol.TypeProposal, TS: now, ID: sp.ProposalID, From: sp.From,
		To: sp.To, Task: sp.Task, Amount: falsyAmount(sp.Amount), Currency: strPtr(sp.Currency),
		PaymentCode: strPtr(sp.PaymentCode), Terms: strPtr(sp.Terms), Expires: p.expiresAt,
		Status: protocol.StatusPending, CreatedAt: now, Sig: sp.Sig, EloStake: sp.EloStake}
	m.mu.Lock()
	m.proposals[sp.ProposalID] = p
	m.mu.Unlock()
	if !c.Send(p.toID(), frame) {
		m.mu.Lock()
		delete(m.proposals, sp.ProposalID)
		m.mu.Unlock()
		return protocol.Errorf(protocol.CodeAgentNotFound, "Agent %s not found", msg.To)
	}
	c.Reply(frame)
	m.log.Info("proposal", "id", sp.ProposalID, "from", from.ID, "to", msg.To)
	return nil
}

// lookup returns a proposal, flipping it to expired if its time has come;
// one with an agentcourt case under way waits for the case, which settles
// it. Caller holds m.mu.
func (m *Machine) lookup(id string, now int64) *proposal {
	p := m.proposals[id]
	if p != nil && p.expiresAt != nil && now > *p.expiresAt && !m.caseOpenLocked(id) &&
		(p.status == protocol.StatusPending || p.status == protocol.StatusAccepted) {
		p.status = protocol.StatusExpired
		p.updatedAt = now
	}
	return p
}

// accept implements ACCEPT: only the recipient of a pending proposal, with
// stakes both parties can cover.
func (m *Machine) accept(ctx context.Context, from Caller, msg *protocol.Accept, c Courier) *protocol.Error {
	a := ledger.Accept{PaymentCode: msg.PaymentCode, EloStake: msg.EloStake, Sig: msg.Sig}
	if err := checkCaller(from, a.SigningString(msg.ProposalID), msg.Sig); err != nil {
		return err
	}
	now := m.now()
	m.mu.Lock()
	p := m.lookup(msg.ProposalID, now)
	switch {
	case p == nil:
		m.mu.Unlock()
		return protocol.Errorf(protocol.CodeProposalNotFound, "Proposal %s not found", msg.ProposalID)
	case p.status != protocol.StatusPending:
		m.mu.Unlock()
		return errNotPending
	case p.toID() != from.ID:
		m.mu.Unlock()
		return errNotRecipient
	case identity.SameKey(p.fromPub, from.Pubkey) || m.lineage.Current(strings.TrimPrefix(p.signed.From, "@")) == m.lineage.Current(from.ID):
		// One key under two IDs, or keys of one agent whose rotation the
		// node learnt after the PROPOSAL.
		m.mu.Unlock()
		return errSelfDeal
	}
	p.status = protocol.StatusAccepted // claimed; undone if the stakes fail
	m.mu.Unlock()

	// Each party's stake is escrowed on its own node: an acceptor on
	// another node has had its stake reserved there.
	res := ledger.Reservation{ProposalID: msg.ProposalID, From: p.signed.From, To: "@" + from.ID,
		ProposerStake: stake(p.signed.EloStake), ExpiresAt: p.expiresAt,
		Task: p.signed.Task, Amount: p.signed.Amount, Currency: p.signed.Currency}
	if from.Node == "" {
		res.AcceptorStake = stake(msg.EloStake)
	}
	if _, err := m.escrow.Reserve(ctx, res); err != nil {
		m.mu.Lock()
		p.status = protocol.StatusPending
		m.mu.Unlock()
		return escrowError(m, msg.ProposalID, err)
	}
	// A clock stepped back must not make the receipt unbuildable
	// (accepted_at before created_at).
	a.AcceptedAt = max(now, p.signed.CreatedAt)
	m.mu.Lock()
	p.accept, p.toPub, p.updatedAt = &a, from.Pubkey, now
	m.mu.Unlock()
	acceptorStake := stake(msg.EloStake)
	frame := &protocol.AcceptFrame{Type: protocol.TypeAccept, TS: now, ProposalID: msg.ProposalID,
		Status: protocol.StatusAccepted, UpdatedAt: now, From: p.signed.From, To: p.signed.To,
		PaymentCode: strPtr(msg.PaymentCode), Sig: msg.Sig, ProposerStake: p.signed.EloStake, AcceptorStake: &acceptorStake}
	c.Send(strings.TrimPrefix(p.signed.From, "@"), frame)
	c.Reply(frame)
	return nil
}

func stake(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// reject implements REJECT: only the recipient of a pending proposal.
func (m *Machine) reject(from Caller, msg *protocol.Reject, c Courier) *protocol.Error {
	if err := checkCaller(from, protocol.RejectSigningString(msg.ProposalID, msg.Reason), msg.Sig); err != nil {
		return err
	}
	now := m.now()
	m.mu.Lock()
	p := m.lookup(msg.ProposalID, now)
	switch {
	case p == nil:
		m.mu.Unlock()
		return errNotFound
	case p.status != protocol.StatusPending:
		m.mu.Unlock()
		return errNotPending
	case p.toID() != from.ID:
		m.mu.Unlock()
		return errNotRecipient
	}
	p.status, p.updatedAt, p.reason = protocol.StatusRejected, now, strPtr(msg.Reason)
	frame := &protocol.RejectFrame{Type: protocol.TypeReject, TS: now, ProposalID: msg.ProposalID,
		Status: protocol.StatusRejected, UpdatedAt: now, From: p.signed.From, To: p.signed.To, Reason: p.reason, Sig: msg.Sig}
	m.mu.Unlock()
	c.Send(strings.TrimPrefix(p.signed.From, "@"), frame)
	c.Reply(frame)
	return nil
}
