package market

import (
	"context"

	"github.com/agentchat/mesh/protocol"
)

// courtTick moves every case whose deadline has passed (Run calls it each
// second): an unrevealed case falls back, an unanswered seat is forfeited
// and replaced, the evidence period gives way to deliberation, and
// deliberation ends in a verdict. Deadlines are absolute and stored, so a
// case a restart interrupted moves on at the next tick.
func (m *Machine) courtTick(ctx context.Context, c Courier) {
	now := m.now()
	m.mu.Lock()
	var due []string
	for id, k := range m.cases {
		if k.open() && k.dueAt(now) {
			due = append(due, id)
		}
	}
	m.mu.Unlock()
	for _, id := range due {
		_ = m.courtCall(ctx, c, func(out *outbox) *protocol.Error {
			return m.advance(ctx, id, now, out)
		})
	}
}

// dueAt reports whether a deadline of the case has passed at now.
func (k *courtCase) dueAt(now int64) bool {
	if k.Phase == phaseResponse {
		for _, s := range k.Slots {
			if s.Status == slotPending && now > s.Deadline {
				return true
			}
		}
		return false
	}
	return k.Deadline > 0 && now > k.Deadline
}

// advance applies the deadlines of case id that passed at now. Caller
// holds courtMu.
func (m *Machine) advance(ctx context.Context, id string, now int64, out *outbox) *protocol.Error {
	k := m.caseCopy(id)
	if k == nil || !k.open() || !k.dueAt(now) {
		return nil
	}
	var sent outbox
	switch k.Phase {
	case phaseReveal:
		m.fallback(k, "Reveal timeout expired", &sent)
	case phaseResponse:
		for _, s := range k.Slots {
			if s.Status == slotPending && now > s.Deadline && k.open() {
				s.Status, s.Deadline = slotForfeited, 0
				m.replace(k, "Insufficient arbiters accepted", &sent)
			}
		}
	case phaseEvidence:
		m.openDeliberation(k, &sent)
	case phaseVote:
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
