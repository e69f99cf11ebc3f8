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
// node ends up holding every receipt, and therefore the same ratings.
type ReceiptSet struct{ m *Machine }

// Receipts returns the machine's receipt set.
func (m *Machine) Receipts() ReceiptSet { return ReceiptSet{m} }

// Check decodes and verifies one receipt with public keys only.
func (s ReceiptSet) Check(raw []byte) error {
	r, err := ledger.DecodeReceipt(raw)
	if err != nil {
		return err
	}
	return ledger.Verify(&r)
}

// IDs lists the receipts held, by proposal ID.
func (s ReceiptSet) IDs() []string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	ids := make([]string, len(s.m.receipts))
	for i, r := range s.m.receipts {
		ids[i] = r.ID()
	}
	return ids
}

// Get returns the canonical JSON of the named receipts.
func (s ReceiptSet) Get(ids []string) [][]byte {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	var out [][]byte
	for i := range s.m.receipts {
		if r := &s.m.receipts[i]; want[r.ID()] {
			out = append(out, r.CanonicalJSON())
		}
	}
	return out
}

// Add verifies, stores and folds receipts from other nodes.
func (s ReceiptSet) Add(ctx context.Context, raws [][]byte) (int, error) {
	rs := make([]ledger.Receipt, 0, len(raws))
	for _, raw := range raws {
		r, err := ledger.DecodeReceipt(raw)
		if err != nil {
			return 0, err
		}
		rs = append(rs, r)
	}
	return s.m.Import(ctx, rs)
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
func (s SkillSet) Get(ids []string) [][]byte {
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
