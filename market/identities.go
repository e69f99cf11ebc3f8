package market

import (
	"context"
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
	ids := make([]string, len(s.m.idents))
	for i := range s.m.idents {
		ids[i] = s.m.idents[i].ID()
	}
	return ids
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
	for i := range s.m.idents {
		if rec := &s.m.idents[i]; want[rec.ID()] {
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
// held). It returns how many records were new.
func (m *Machine) AddIdentities(ctx context.Context, recs []ledger.IdentityRecord) (int, error) {
	n, err := m.addIdentities(ctx, recs)
	if n > 0 && m.cfg.OnIdentities != nil {
		m.cfg.OnIdentities()
	}
	return n, err
}

func (m *Machine) addIdentities(ctx context.Context, recs []ledger.IdentityRecord) (int, error) {
	m.settleMu.Lock()
	defer m.settleMu.Unlock()
	var added []ledger.IdentityRecord
	var err error
	for _, rec := range recs {
		isNew, perr := m.cfg.Store.PutIdentity(ctx, rec)
		if perr != nil {
			err = perr
			break
		}
		if isNew {
			added = append(added, rec)
		}
	}
	if len(added) > 0 {
		m.mu.Lock()
		m.idents = append(m.idents, added...)
		m.lineage = ledger.LineageOf(m.idents)
		m.refoldLocked()
		m.mu.Unlock()
	}
	return len(added), err
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
