package market

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
)

// A proposal lives on its proposer's node, but each agent's stakes are
// escrowed on the agent's own node, so that no agent can stake the same
// rating on proposals held by two nodes. The node hosting a proposal's
// recipient remembers the proposal when it relays it (Observe); it reserves
// the recipient's stake here before forwarding an ACCEPT, releases it if
// the proposal's node refuses, settles it when the receipt arrives by
// replication, and releases it and tells the recipient when the proposal
// expires.

// maxRemote bounds the proposals remembered for local recipients.
const maxRemote = 100_000

// remoteProposal is a proposal held by another node, addressed to an agent
// here. Guarded by Machine.mu.
type remoteProposal struct {
	id        string
	from, to  string // "@id"
	node      string // the node holding it
	expiresAt *int64 // absolute ms
	task      string
	amount    *float64
	currency  string
	// over: rejected, completed, disputed or expired, so its expiry is no
	// news; it is kept so that later operations still get the holder's
	// answer.
	over bool
}

// Observe remembers a PROPOSAL that from, hosted by from.Node, sent to an
// agent here, so that the recipient's operations on it reach that node.
func (m *Machine) Observe(from Caller, frame []byte) {
	var f protocol.ProposalFrame
	if from.Node == "" || json.Unmarshal(frame, &f) != nil || f.ID == "" || f.From != "@"+from.ID {
		return
	}
	r := &remoteProposal{id: f.ID, from: f.From, to: f.To, node: from.Node, expiresAt: f.Expires,
		task: f.Task, amount: f.Amount}
	if f.Currency != nil {
		r.currency = *f.Currency
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.remote[f.ID] != nil {
		return // a proposal is relayed once; a repeat changes nothing
	}
	if len(m.remote) >= maxRemote {
		m.evictRemoteLocked()
	}
	m.remote[f.ID] = r
}

// evictRemoteLocked makes room: the finished entries go, else arbitrary
// ones (their recipients can no longer act on them from here). Caller
// holds mu.
func (m *Machine) evictRemoteLocked() {
	for id, r := range m.remote {
		if r.over {
			delete(m.remote, id)
		}
	}
	for id := range m.remote {
		if len(m.remote) < maxRemote {
			return
		}
		delete(m.remote, id)
	}
}

// remoteFor returns the remote proposal id names, nil if this node holds
// the proposal or never saw it.
func (m *Machine) remoteFor(id string) *remoteProposal {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proposals[id] != nil {
		return nil
	}
	return m.remote[id]
}

// remoteOverLocked marks a remote proposal finished. Caller holds mu.
func (m *Machine) remoteOverLocked(id string) {
	if r := m.remote[id]; r != nil {
		r.over = true
	}
}

// forward sends an operation on a remote proposal to the node holding it.
// An ACCEPT by the recipient first reserves the recipient's stake here.
func (m *Machine) forward(ctx context.Context, from Caller, msg protocol.Message, r *remoteProposal, c Courier) *protocol.Error {
	held, perr := m.holdStake(ctx, from, msg, r)
	if perr != nil {
		return perr
	}
	frames, err := c.Forward(r.node)
	if err != nil {
		m.log.Warn("forward marketplace operation", "proposal", r.id, "node", r.node, "err", err)
		// The proposal's node may have taken the ACCEPT before the answer
		// was lost: a stake with a deadline stays held until then (or until
		// the receipt arrives), so it cannot be staked twice meanwhile. One
		// without a deadline would be held forever, so it is released.
		if r.expiresAt == nil {
			m.releaseHeld(ctx, held, r.id)
		}
		return errUnreachable
	}
	if refused(frames) {
		m.releaseHeld(ctx, held, r.id)
	} else if ends(msg) {
		// Settled or rejected there; the receipt, if any, arrives by
		// replication and settles the stake held here.
		m.mu.Lock()
		m.remoteOverLocked(r.id)
		m.mu.Unlock()
	}
	for _, f := range frames {
		c.Reply(json.RawMessage(f))
	}
	return nil
}

// ends reports whether an operation that went through ends its proposal
// (an agentcourt filing does not: the case settles it later).
func ends(msg protocol.Message) bool {
	switch msg.(type) {
	case *protocol.Reject, *protocol.Complete, *protocol.Dispute:
		return true
	}
	return false
}

// holdStake reserves the recipient's stake for an ACCEPT it signed; it
// reports whether a stake is now held.
func (m *Machine) holdStake(ctx context.Context, from Caller, msg protocol.Message, r *remoteProposal) (bool, *protocol.Error) {
	a, ok := msg.(*protocol.Accept)
	if !ok || "@"+from.ID != r.to || stake(a.EloStake) <= 0 {
		return false, nil
	}
	signed := ledger.Accept{PaymentCode: a.PaymentCode, EloStake: a.EloStake, Sig: a.Sig}
	if err := checkCaller(from, signed.SigningString(r.id), a.Sig); err != nil {
		return false, err
	}
	_, err := m.escrow.Reserve(ctx, ledger.Reservation{ProposalID: r.id, From: r.from, To: r.to,
		AcceptorStake: stake(a.EloStake), ExpiresAt: r.expiresAt, Task: r.task, Amount: r.amount, Currency: r.currency})
	if err != nil {
		return false, escrowError(m, r.id, err)
	}
	return true, nil
}

// releaseHeld returns a stake reserved for an ACCEPT that did not go through.
func (m *Machine) releaseHeld(ctx context.Context, held bool, id string) {
	if !held {
		return
	}
	if err := m.escrow.Release(ctx, id, ledger.ReasonRefused); err != nil {
		m.log.Warn("release refused stake", "proposal", id, "err", err)
	}
}

// escrowError turns a failed reservation into the agent's error.
func escrowError(m *Machine, id string, err error) *protocol.Error {
	var ins *ledger.InsufficientError
	if errors.As(err, &ins) {
		return protocol.Errorf(protocol.CodeInsufficientReputation, "%s", ins.Error())
	}
	if errors.Is(err, ledger.ErrEscrowExists) {
		return errNotPending // a concurrent ACCEPT of the same proposal holds it
	}
	m.log.Error("reserve escrow", "proposal", id, "err", err)
	return errStore
}

// refused reports whether the proposal's node answered with an ERROR.
func refused(frames [][]byte) bool {
	for _, f := range frames {
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(f, &head) == nil && head.Type == protocol.TypeError {
			return true
		}
	}
	return false
}

// expireRemote ends remote proposals past their deadline: it releases the
// stakes still held here for them and tells their local recipients. The
// entries stay, so later operations still get the holder's answer.
func (m *Machine) expireRemote(ctx context.Context, now int64, c Courier) {
	var expired []*remoteProposal
	m.mu.Lock()
	for _, r := range m.remote {
		if !r.over && r.expiresAt != nil && now > *r.expiresAt {
			r.over = true
			expired = append(expired, r)
		}
	}
	m.mu.Unlock()
	for _, r := range expired {
		if rec, ok := m.escrow.Get(r.id); ok && rec.Status == ledger.EscrowActive {
			if err := m.escrow.Release(ctx, r.id, ledger.ReasonExpired); err != nil {
				m.log.Warn("release escrow", "proposal", r.id, "err", err)
			}
		}
		c.Send(strings.TrimPrefix(r.to, "@"), expiryNotice(r.id, r.to, now))
	}
}

// expiryNotice is the server MSG telling a party its proposal expired.
func expiryNotice(id, to string, now int64) *protocol.MsgFrame {
	return notice(to, now, "Proposal "+id+" expired")
}
