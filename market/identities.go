package market

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
)

// IdentitySet is the rotation and revocation records (ledger.IdentityRecord)
// as a set the mesh replicates. Every node folds receipts under the
// lineage of the records it holds (ledger.FoldLineage), so once the records
// have spread every node rates a rotated agent under its current key and
// refuses a revoked key. A record reaches the mesh when it is submitted to
// any node (POST /identities, `agentchat identity publish`).
type IdentitySet struct{ m *Machine }

// Identities returns the machine's identity record set.
func (m *Machine) Identities() IdentitySet { return IdentitySet{m} }

// Check decodes and verifies one record.
func (s IdentitySet) Check(raw []byte) error {
	_, err := ledger.DecodeIdentityRecord(raw)
	return err
}

// IDs lists the records held.
func (s IdentitySet) IDs() []string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return slices.Sorted(maps.Keys(s.m.identIDs))
}

// Get returns the encodings of the named records.
func (s IdentitySet) Get(_ context.Context, ids []string) [][]byte {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	var out [][]byte
	recs := s.m.idents.Records()
	for i := range recs {
		if rec := &recs[i]; want[rec.ID()] {
			out = append(out, rec.Encode())
		}
	}
	return out
}

// Add verifies and stores records and refolds once.
func (s IdentitySet) Add(ctx context.Context, raws [][]byte) (int, error) {
	recs := make([]ledger.IdentityRecord, 0, len(raws))
	for _, raw := range raws {
		rec, err := ledger.DecodeIdentityRecord(raw)
		if err != nil {
			return 0, err
		}
		recs = append(recs, rec)
	}
	return s.m.AddIdentities(ctx, recs)
}

// AddIdentities stores verified identity records durably, then refolds the
// ratings under the new lineage and calls OnIdentities (with no lock
// held). It returns how many records were new to the machine.
func (m *Machine) AddIdentities(ctx context.Context, recs []ledger.IdentityRecord) (int, error) {
	m.settleMu.Lock()
	n, err := m.addIdentitiesLocked(ctx, recs)
	m.settleMu.Unlock()
	if n > 0 && m.cfg.OnIdentities != nil {
		m.cfg.OnIdentities()
	}
	return n, err
}

// addIdentitiesLocked is AddIdentities without OnIdentities; the caller
// holds settleMu. A record is new if the machine does not hold it, whether
// or not the store already did, so a record stored by another path is
// still folded.
func (m *Machine) addIdentitiesLocked(ctx context.Context, recs []ledger.IdentityRecord) (int, error) {
	var added []ledger.IdentityRecord
	var err error
	m.mu.Lock()
	held := m.identIDs
	m.mu.Unlock()
	fresh := map[string]bool{}
	for _, rec := range recs {
		id := rec.ID()
		if held[id] || fresh[id] {
			continue
		}
		if _, err = m.cfg.Store.PutIdentity(ctx, rec); err != nil {
			break
		}
		fresh[id] = true
		added = append(added, rec)
	}
	if len(added) > 0 {
		m.mu.Lock()
		before := m.lineage
		m.setIdentitiesLocked(append(slices.Clone(m.idents.Records()), added...))
		if m.lineageMovesLocked(before) {
			m.refoldLocked()
		}
		m.mu.Unlock()
	}
	return len(added), err
}

// lineageMovesLocked reports whether the fold under m.lineage can differ
// from the fold under before: the fold reads the lineage only for the
// parties of the receipts held (their current key, and whether and since
// when they are revoked), so records about keys no receipt names, or that
// leave every party as it was, need no refold. Caller holds mu.
func (m *Machine) lineageMovesLocked(before *identity.Lineage) bool {
	for id := range m.parties {
		if before.Current(id) != m.lineage.Current(id) {
			return true
		}
		at, revoked := before.Revoked(id)
		if at2, revoked2 := m.lineage.Revoked(id); revoked != revoked2 || at != at2 {
			return true
		}
	}
	return false
}

// holdLocked adds receipts to the machine's set and notes their parties.
// Caller holds mu (or is New).
func (m *Machine) holdLocked(rs ...ledger.Receipt) {
	if m.parties == nil {
		m.parties = map[string]bool{}
	}
	m.receipts = append(m.receipts, rs...)
	for i := range rs {
		m.parties[strings.TrimPrefix(rs[i].Proposal.From, "@")] = true
		m.parties[strings.TrimPrefix(rs[i].Proposal.To, "@")] = true
	}
}

// setIdentitiesLocked makes recs the machine's identity records. Caller
// holds mu (or is New).
func (m *Machine) setIdentitiesLocked(recs []ledger.IdentityRecord) {
	m.idents = ledger.NewIdentities(recs)
	m.lineage = m.idents.Lineage()
	m.identIDs = make(map[string]bool, len(recs))
	for i := range recs {
		m.identIDs[recs[i].ID()] = true
	}
}

// refoldLocked recomputes the table from the receipts and the lineage.
// Caller holds mu.
func (m *Machine) refoldLocked() {
	m.table = ledger.FoldLineage(m.receipts, m.lineage)
}

// Lineage returns the lineage of the identity records this node holds; it
// is immutable.
func (m *Machine) Lineage() *identity.Lineage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lineage
}

// CurrentKey returns the agent ID (no "@") that key id handed over to in
// the end, by the rotation records this node holds; id if it never
// rotated.
func (m *Machine) CurrentKey(id string) string {
	return m.Lineage().Current(strings.TrimPrefix(id, "@"))
}

// SameAgent reports whether two agent IDs ("@" optional) are keys of one
// agent by the rotation records this node holds.
func (m *Machine) SameAgent(a, b string) bool {
	return m.CurrentKey(a) == m.CurrentKey(b)
}

// keysOf returns every key ("@id") of agent's identity, oldest first, by
// the rotation records this node holds: the escrow counts the stakes of
// all of them against the one rating they share.
func (m *Machine) keysOf(agent string) []string {
	keys := m.Lineage().Keys(strings.TrimPrefix(agent, "@"))
	for i, k := range keys {
		keys[i] = "@" + k
	}
	return keys
}

// Revoked reports whether key id (no "@") is revoked, by the records this
// node holds, and since when (Unix ms).
func (m *Machine) Revoked(id string) (at int64, revoked bool) {
	return m.Lineage().Revoked(strings.TrimPrefix(id, "@"))
}
