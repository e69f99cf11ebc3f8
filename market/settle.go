package market

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
)

func newProposalID(ms int64) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "prop_" + strconv.FormatInt(ms, 36) + "_" + hex.EncodeToString(b[:])
}

// complete implements COMPLETE: either party of an accepted proposal that
// is at least MinAge old.
func (m *Machine) complete(ctx context.Context, from Caller, msg *protocol.Complete, c Courier) *protocol.Error {
	if err := checkCaller(from, protocol.CompleteSigningString(msg.ProposalID, msg.Proof), msg.Sig); err != nil {
		return err
	}
	o := ledger.Outcome{Kind: ledger.KindComplete, By: "@" + from.ID, Proof: msg.Proof, Sig: msg.Sig}
	return m.settle(ctx, from, msg.ProposalID, o, c)
}

// dispute implements the legacy unilateral DISPUTE: either party of an
// accepted proposal.
func (m *Machine) dispute(ctx context.Context, from Caller, msg *protocol.Dispute, c Courier) *protocol.Error {
	if err := checkCaller(from, protocol.DisputeSigningString(msg.ProposalID, msg.Reason), msg.Sig); err != nil {
		return err
	}
	o := ledger.Outcome{Kind: ledger.KindDispute, By: "@" + from.ID, Reason: msg.Reason, Sig: msg.Sig}
	return m.settle(ctx, from, msg.ProposalID, o, c)
}

// settle turns an accepted proposal into a receipt: built and countersigned,
// stored durably, folded into the ratings, escrow settled, and only then
// reported to both parties.
func (m *Machine) settle(ctx context.Context, from Caller, id string, o ledger.Outcome, c Courier) *protocol.Error {
	m.settleMu.Lock()
	defer m.settleMu.Unlock()
	now := m.now()
	m.mu.Lock()
	p := m.lookup(id, now)
	switch {
	case p == nil:
		m.mu.Unlock()
		return errNotFound
	case o.Kind == ledger.KindComplete && m.cfg.MinAge > 0 && now-p.signed.CreatedAt < m.cfg.MinAge.Milliseconds():
		left := (m.cfg.MinAge.Milliseconds() - (now - p.signed.CreatedAt) + 999) / 1000
		m.mu.Unlock()
		return protocol.Errorf(protocol.CodeRateLimited, "Proposal must be at least %ds old before completion (%ds remaining)",
			int(m.cfg.MinAge.Seconds()), left)
	case p.status != protocol.StatusAccepted:
		m.mu.Unlock()
		return errNotAccepted
	case o.By != p.signed.From && o.By != "@"+p.toID():
		m.mu.Unlock()
		return errNotParty
	case m.caseOpenLocked(id):
		m.mu.Unlock()
		return errCaseOpen
	}
	signed, accept, fromPub, toPub := p.signed, *p.accept, p.fromPub, p.toPub
	// As at ACCEPT: the receipt needs settled_at >= accepted_at whatever
	// the clock did.
	o.SettledAt = max(now, accept.AcceptedAt)
	m.mu.Unlock()

	r, changes, perr := m.issue(ctx, signed, accept, o, fromPub, toPub)
	if perr != nil {
		return perr
	}

	rc := json.RawMessage("null")
	if changes != nil {
		rc, _ = json.Marshal(changes)
	}
	stakes := protocol.EloStakes{Proposer: r.ProposerStake(), Acceptor: r.AcceptorStake()}
	var frame any
	if o.Kind == ledger.KindComplete {
		frame = &protocol.CompleteFrame{Type: protocol.TypeComplete, TS: now, ProposalID: id, Status: protocol.StatusCompleted,
			UpdatedAt: now, From: signed.From, To: signed.To, CompletedBy: o.By, CompletedAt: now,
			Proof: strPtr(o.Proof), Sig: o.Sig, EloStakes: stakes, RatingChanges: rc}
	} else {
		frame = &protocol.DisputeFrame{Type: protocol.TypeDispute, TS: now, ProposalID: id, Status: protocol.StatusDisputed,
			UpdatedAt: now, From: signed.From, To: signed.To, DisputedBy: o.By, DisputedAt: now,
			Reason: o.Reason, Sig: o.Sig, EloStakes: stakes, RatingChanges: rc}
	}
	other := strings.TrimPrefix(signed.From, "@")
	if other == from.ID {
		other = strings.TrimPrefix(signed.To, "@")
	}
	c.Send(other, frame)
	c.Reply(frame)
	m.log.Info("settled", "proposal", id, "outcome", o.Kind, "by", from.ID)
	return nil
}

// issue builds, countersigns and durably stores the receipt of a settled
// proposal, folds it in, hands it to the mesh and settles its escrow; the
// proposal, if this node still has it in memory, is marked settled. It
// returns the receipt and its rating changes. Caller holds settleMu.
func (m *Machine) issue(ctx context.Context, signed ledger.Proposal, accept ledger.Accept, o ledger.Outcome,
	fromPub, toPub string) (ledger.Receipt, *ledger.RatingChanges, *protocol.Error) {
	id := signed.ProposalID
	r, err := ledger.Build(signed, accept, o, fromPub, toPub, m.cfg.NodeKey)
	if err != nil {
		m.log.Error("build receipt", "proposal", id, "err", err)
		return r, nil, errStore
	}
	if err := m.cfg.Store.Put(ctx, r); err != nil {
		m.log.Error("store receipt", "proposal", id, "err", err)
		return r, nil, errStore
	}
	changes := m.fold(r)
	if m.cfg.OnReceipt != nil {
		if rec, err := m.provenRecord(ctx, id); err != nil {
			m.log.Error("prove receipt", "proposal", id, "err", err) // reconciliation carries it later
		} else {
			m.cfg.OnReceipt(rec)
		}
	}
	if err := m.escrow.Settle(ctx, &r, changes); err != nil {
		m.log.Warn("settle escrow", "proposal", id, "err", err)
	}
	status := protocol.StatusDisputed
	if o.Kind == ledger.KindComplete {
		status = protocol.StatusCompleted
	}
	m.mu.Lock()
	if p := m.proposals[id]; p != nil {
		p.status, p.updatedAt = status, m.now()
	}
	m.mu.Unlock()
	return r, changes, nil
}

// fold adds a receipt to the node's set and refolds: ratings are a pure
// function of the receipts, so a late receipt is a refold, never a drift.
// It returns r's rating changes, nil if r changed no rating (pair cooldown).
func (m *Machine) fold(r ledger.Receipt) *ledger.RatingChanges {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.holdLocked(r)
	m.refoldLocked()
	changes, _ := m.table.Changes(r.ID())
	return changes
}

// Import adds receipts learned from elsewhere (gossip, reconciliation),
// each a bundle of one receipt with its origin's checkpoint and inclusion
// proof: each is verified and stored with its proof (so this node can put
// it in its own exports), duplicates are no-ops, and the ratings are
// refolded once. A stake this node holds for a new receipt's proposal (its
// agent accepted a proposal held elsewhere) is settled. It returns how many
// receipts were new.
func (m *Machine) Import(ctx context.Context, bs []*ledger.Bundle) (int, error) {
	m.settleMu.Lock()
	defer m.settleMu.Unlock()
	var added []ledger.Receipt
	for _, b := range bs {
		r := &b.Entries[0].Receipt // provenReceipt checked the shape
		had, err := m.cfg.Store.Has(ctx, r.ID())
		if err != nil {
			return len(added), err
		}
		if _, err := m.cfg.Store.Import(ctx, b); err != nil {
			return len(added), err
		}
		m.mu.Lock()
		delete(m.unproven, r.ID())
		m.mu.Unlock()
		if !had {
			added = append(added, *r)
		}
	}
	if len(added) == 0 {
		return 0, nil
	}
	m.mu.Lock()
	m.holdLocked(added...)
	m.refoldLocked()
	table := m.table
	for _, r := range added {
		m.remoteOverLocked(r.ID())
	}
	m.mu.Unlock()
	for i := range added {
		r := &added[i]
		if rec, ok := m.escrow.Get(r.ID()); !ok || rec.Status != ledger.EscrowActive {
			continue
		}
		changes, _ := table.Changes(r.ID())
		if err := m.escrow.Settle(ctx, r, changes); err != nil {
			m.log.Warn("settle escrow", "proposal", r.ID(), "err", err)
		}
	}
	return len(added), nil
}

// expire moves pending and accepted proposals past their deadline to
// expired, releases their escrow and tells both parties.
func (m *Machine) expire(ctx context.Context, c Courier) {
	now := m.now()
	var expired []*proposal
	m.mu.Lock()
	for _, p := range m.proposals {
		was := p.status
		if m.lookup(p.signed.ProposalID, now); p.status == protocol.StatusExpired && was != protocol.StatusExpired {
			expired = append(expired, p)
		}
	}
	m.mu.Unlock()
	for _, p := range expired {
		id := p.signed.ProposalID
		if _, held := m.escrow.Get(id); held {
			if err := m.escrow.Release(ctx, id, ledger.ReasonExpired); err != nil {
				m.log.Warn("release escrow", "proposal", id, "err", err)
			}
		}
		// A party on another node hears it from its own node (expireRemote).
		for _, party := range []string{p.signed.From, "@" + p.toID()} {
			c.Send(strings.TrimPrefix(party, "@"), expiryNotice(id, party, now))
		}
		m.log.Info("proposal expired", "proposal", id)
	}
	m.expireRemote(ctx, now, c)
	// Escrows whose proposal this node no longer remembers (it restarted)
	// are released at their deadline all the same.
	if ids, err := m.escrow.ReleaseExpired(ctx); err != nil {
		m.log.Warn("release expired escrows", "err", err)
	} else if len(ids) > 0 {
		m.log.Info("released expired escrows", "proposals", ids)
	}
}
