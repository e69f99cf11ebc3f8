package market

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
)

// ReceiptSet is the node's receipts as a set the mesh replicates: every
// node ends up holding every receipt, and therefore the same ratings. A
// record is a bundle of one receipt with its origin node's checkpoint and
// inclusion proof (ledger.Bundle), so whichever node a receipt reached can
// prove it in its own exports. The set lists only receipts it can prove: a
// receipt stored without a proof (by an older version) reads as missing,
// so reconciliation fetches the proven record again.
type ReceiptSet struct{ m *Machine }

// Receipts returns the machine's receipt set.
func (m *Machine) Receipts() ReceiptSet { return ReceiptSet{m} }

// Check decodes and verifies one proven receipt with public keys only.
func (s ReceiptSet) Check(raw []byte) error {
	_, err := provenReceipt(raw)
	return err
}

// provenReceipt decodes a record of the set: a bundle of exactly one
// receipt, whose signatures and inclusion proof verify, and no identity
// records (those travel in the identity set, which folds them and runs
// OnIdentities; stored on the side they would be taken for known there and
// never folded).
func provenReceipt(raw []byte) (*ledger.Bundle, error) {
	b, err := ledger.DecodeBundle(raw)
	if err != nil {
		return nil, err
	}
	if len(b.Entries) != 1 || len(b.Identities) != 0 {
		return nil, fmt.Errorf("receipt record: %w: %d entries and %d identity records, want 1 and none",
			ledger.ErrMalformed, len(b.Entries), len(b.Identities))
	}
	if _, err := ledger.VerifyBundle(b); err != nil {
		return nil, err
	}
	return b, nil
}

// IDs lists the receipts held that this node can prove, by proposal ID.
func (s ReceiptSet) IDs() []string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	ids := make([]string, 0, len(s.m.receipts))
	for _, r := range s.m.receipts {
		if !s.m.unproven[r.ID()] {
			ids = append(ids, r.ID())
		}
	}
	return ids
}

// Get returns the proven records of the named receipts.
func (s ReceiptSet) Get(ctx context.Context, ids []string) [][]byte {
	var out [][]byte
	for _, id := range ids {
		if rec, err := s.m.provenRecord(ctx, id); err == nil {
			out = append(out, rec)
		}
	}
	return out
}

// Add verifies, stores and folds receipts from other nodes.
func (s ReceiptSet) Add(ctx context.Context, raws [][]byte) (int, error) {
	bs := make([]*ledger.Bundle, 0, len(raws))
	for _, raw := range raws {
		b, err := provenReceipt(raw)
		if err != nil {
			return 0, err
		}
		bs = append(bs, b)
	}
	return s.m.Import(ctx, bs)
}

// provenRecord is the set's record of receipt id: the receipt with its
// proof (a fresh checkpoint of this node's log for its own receipts).
func (m *Machine) provenRecord(ctx context.Context, id string) ([]byte, error) {
	b, err := m.cfg.Store.Bundle(ctx, id)
	if err != nil {
		return nil, err
	}
	return b.Encode()
}

// SkillSet is the skills registry as a set the mesh replicates, so a search
// on any node sees the skills of agents on every node. A record's ID is the
// agent and its registration time; a newer registration replaces an older.
type SkillSet struct{ m *Machine }

// Skills returns the machine's skill set.
func (m *Machine) Skills() SkillSet { return SkillSet{m} }

func regID(r registration) string { return r.AgentID + "|" + strconv.FormatInt(r.RegisteredAt, 10) }

// Check verifies that a registration was signed by the key its agent ID
// derives from, over the registered array.
func (s SkillSet) Check(raw []byte) error {
	_, err := decodeRegistration(raw)
	return err
}

var errBadRegistration = errors.New("skill registration does not verify")

func decodeRegistration(raw []byte) (registration, error) {
	var r registration
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("%w: %v", errBadRegistration, err)
	}
	if "@"+identity.AgentID(r.Pubkey) != r.AgentID {
		return r, fmt.Errorf("%w: agent ID does not match the key", errBadRegistration)
	}
	jsr, err := protocol.JSR(r.Skills)
	if err != nil {
		return r, fmt.Errorf("%w: %v", errBadRegistration, err)
	}
	pub, err := identity.ParsePublicPEM(r.Pubkey)
	if err != nil || !identity.Verify(pub, protocol.RegisterSkillsSigningString(jsr), r.Sig) {
		return r, fmt.Errorf("%w: signature", errBadRegistration)
	}
	return r, nil
}

// IDs lists the current registrations.
func (s SkillSet) IDs() []string {
	reg := s.m.skills
	reg.mu.Lock()
	defer reg.mu.Unlock()
	ids := make([]string, 0, len(reg.regs))
	for _, r := range reg.regs {
		ids = append(ids, regID(r))
	}
	return ids
}

// Get returns the named registrations.
func (s SkillSet) Get(_ context.Context, ids []string) [][]byte {
	reg := s.m.skills
	reg.mu.Lock()
	defer reg.mu.Unlock()
	var out [][]byte
	for _, id := range ids {
		agent, _, _ := strings.Cut(id, "|")
		if r, ok := reg.regs[agent]; ok && regID(r) == id {
			b, _ := json.Marshal(r)
			out = append(out, b)
		}
	}
	return out
}

// Add keeps each verified registration that is newer than the one held.
func (s SkillSet) Add(ctx context.Context, raws [][]byte) (int, error) {
	added := 0
	for _, raw := range raws {
		r, err := decodeRegistration(raw)
		if err != nil {
			return added, err
		}
		reg := s.m.skills
		reg.mu.Lock()
		cur, ok := reg.regs[r.AgentID]
		reg.mu.Unlock()
		if ok && cur.RegisteredAt >= r.RegisteredAt {
			continue
		}
		if err := reg.put(ctx, r); err != nil {
			return added, err
		}
		added++
	}
	return added, nil
}
