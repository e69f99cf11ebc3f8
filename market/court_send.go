package market

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/agentchat/mesh/protocol"
)

// outbox collects the frames a court transition sends; they are delivered
// once the transition is durable and the court lock is released.
type outbox []outFrame

type outFrame struct {
	to    string // "@id"; "" answers the caller
	frame any
}

func (o *outbox) add(to string, frame any) { *o = append(*o, outFrame{to, frame}) }

func (o *outbox) reply(frame any) { o.add("", frame) }

// toParties sends frame to the disputant and the respondent.
func (o *outbox) toParties(k *courtCase, frame any) {
	o.add(k.Disputant, frame)
	o.add(k.Respondent, frame)
}

// courtCall runs one court operation under the court lock: fn changes
// cases (commitCase) and fills the outbox, which is delivered after the
// lock is released.
func (m *Machine) courtCall(ctx context.Context, c Courier, fn func(out *outbox) *protocol.Error) *protocol.Error {
	var out outbox
	m.courtMu.Lock()
	err := fn(&out)
	m.courtMu.Unlock()
	if err != nil {
		return err
	}
	m.deliver(ctx, out, c)
	return nil
}

// deliver sends the frames of a transition. An arbiter who cannot be
// reached anywhere on the mesh is treated as declining its seat, so an
// absent agent costs a replacement round, not the whole response period.
func (m *Machine) deliver(ctx context.Context, out outbox, c Courier) {
	type seat struct{ dispute, arbiter string }
	var unreachable []seat
	for _, f := range out {
		if f.to == "" {
			c.Reply(f.frame)
			continue
		}
		if !c.Notify(strings.TrimPrefix(f.to, "@"), f.frame) {
			if a, ok := f.frame.(*protocol.ArbiterAssigned); ok {
				unreachable = append(unreachable, seat{a.DisputeID, f.to})
			}
		}
	}
	for _, s := range unreachable {
		m.log.Info("arbiter unreachable", "dispute", s.dispute, "arbiter", s.arbiter)
		_ = m.courtCall(ctx, c, func(out *outbox) *protocol.Error {
			return m.declineSeat(ctx, s.dispute, s.arbiter, out)
		})
	}
}

// commitCase makes next the case's state: durable first, then in memory.
// Caller holds courtMu; next is a copy (cloneCase) so a failed write
// changes nothing.
func (m *Machine) commitCase(ctx context.Context, next *courtCase) error {
	if err := m.putCase(ctx, next); err != nil {
		m.log.Error("store case", "dispute", next.ID, "err", err)
		return err
	}
	m.mu.Lock()
	m.cases[next.ID], m.caseOf[next.ProposalID] = next, next.ID
	m.mu.Unlock()
	return nil
}

// caseCopy returns a copy of case id to change, nil if there is none.
// Caller holds courtMu.
func (m *Machine) caseCopy(id string) *courtCase {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k := m.cases[id]; k != nil {
		return cloneCase(k)
	}
	return nil
}

// cloneCase deep-copies a case through its stored form, which is what a
// restart sees anyway.
func cloneCase(k *courtCase) *courtCase {
	b, _ := json.Marshal(k)
	var out courtCase
	_ = json.Unmarshal(b, &out)
	return &out
}

// fallback ends a case without a panel verdict and tells both parties why;
// the proposal is left to the plain dispute path (DISPUTE or COMPLETE).
func (m *Machine) fallback(k *courtCase, reason string, out *outbox) {
	k.Phase, k.FallbackCause, k.Deadline = phaseFallback, reason, 0
	out.toParties(k, &protocol.DisputeFallback{Type: protocol.TypeDisputeFallback, TS: m.now(), DisputeID: k.ID,
		Reason: reason, ProposalID: k.ProposalID})
	m.log.Info("dispute fallback", "dispute", k.ID, "reason", reason)
}

// assignment is the ARBITER_ASSIGNED offer of a seat.
func (m *Machine) assignment(k *courtCase, s *slot, replacement bool) *protocol.ArbiterAssigned {
	return &protocol.ArbiterAssigned{Type: protocol.TypeArbiterAssigned, TS: m.now(), DisputeID: k.ID,
		ProposalID: k.ProposalID, Disputant: k.Disputant, Respondent: k.Respondent, Reason: k.Reason,
		ResponseDeadline: s.Deadline, IsReplacement: replacement}
}

// notice is a server MSG to one agent.
func notice(to string, now int64, text string) *protocol.MsgFrame {
	return &protocol.MsgFrame{Type: protocol.TypeMsg, TS: now, From: "@server", FromName: "Server", To: to, Content: text}
}
