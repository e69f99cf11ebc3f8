package node

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/agentchat/mesh/identity"
)

// fedBanPrefix holds every valid operator ban record this node has seen,
// honoured or not, as received: /fedbans/<record id> → JSON. Keeping the
// ones it does not honour lets the node pass them on to nodes that do.
var fedBanPrefix = datastore.NewKey("/fedbans")

// maxRelayedBans bounds the records a node keeps of operators it does not
// honour (kept only to pass them on): keys cost nothing, so without a bound
// anyone could fill every node's disk. Records of honoured operators are
// always kept. A record that does not fit is skipped, not an error for the
// records gossiped or pulled with it.
const maxRelayedBans = 10000

// BanSet is the mesh's set of operator-signed ban records (identity.Ban).
// Bans stay per node by design: a record is enforced here only if it is
// signed by a key this node's operator chose to honour (Config.HonorBansFrom)
// or by this node's own key. Every valid record of an honoured operator, and
// up to maxRelayedBans of the others, is stored and replicated, so that it
// reaches the nodes that do honour it, including ones that connect later. Its methods are those of the bridge's Replica.
type BanSet struct {
	store datastore.Batching
	own   string // this node's key (hex), always honoured
	kick  func(agentID, reason string) bool
	log   *slog.Logger

	addMu   sync.Mutex // serialises adds, so the relay bound holds under concurrency
	mu      sync.RWMutex
	honour  map[string]bool                     // operator key (hex) → enforced here
	raw     map[string][]byte                   // record ID → record
	held    map[string]int                      // operator → records in raw
	relayed int                                 // records in raw of operators not honoured
	latest  map[string]map[string]*identity.Ban // agent ID → operator → newest record
}

func newBanSet(store datastore.Batching, own ed25519.PublicKey, honour []ed25519.PublicKey,
	kick func(agentID, reason string) bool, log *slog.Logger) *BanSet {
	b := &BanSet{store: store, own: hex.EncodeToString(own), kick: kick, log: log,
		raw: map[string][]byte{}, held: map[string]int{}, latest: map[string]map[string]*identity.Ban{}}
	b.honour = b.honourSet(honour)
	return b
}

// honourSet is the set of operators enforced with keys honoured: this
// node's own key and keys.
func (b *BanSet) honourSet(keys []ed25519.PublicKey) map[string]bool {
	m := map[string]bool{b.own: true}
	for _, k := range keys {
		m[hex.EncodeToString(k)] = true
	}
	return m
}

// honours reports whether this node enforces op's records.
func (b *BanSet) honours(op string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.honour[op]
}

// SetHonoured replaces the operators whose records this node enforces
// (its own key stays honoured) and reports whether the set changed. An
// agent that a newly honoured operator bans is disconnected if online
// here, as ADMIN_BAN does; one no longer banned may connect again. The
// records held stay held: the relay bound applies to the ones added later.
func (b *BanSet) SetHonoured(keys []ed25519.PublicKey) bool {
	b.addMu.Lock()
	defer b.addMu.Unlock()
	next := b.honourSet(keys)
	b.mu.Lock()
	if maps.Equal(next, b.honour) {
		b.mu.Unlock()
		return false
	}
	was := map[string]bool{}
	for agent := range b.latest {
		was[agent], _ = b.bannedLocked(agent)
	}
	b.honour, b.relayed = next, 0
	for op, n := range b.held {
		if !next[op] {
			b.relayed += n
		}
	}
	b.mu.Unlock()
	b.log.Info("honoured ban operators changed", "operators", len(next)-1)
	for agent, before := range was {
		if banned, reason := b.banned(agent); banned && !before && b.kick != nil {
			b.kick(agent, reason)
		}
	}
	return true
}

// load reads the stored records (at start; records gossiped meanwhile
// merge the same way).
func (b *BanSet) load(ctx context.Context) error {
	res, err := b.store.Query(ctx, query.Query{Prefix: fedBanPrefix.String()})
	if err != nil {
		return fmt.Errorf("load operator bans: %w", err)
	}
	defer res.Close()
	for r := range res.Next() {
		if r.Error != nil {
			return fmt.Errorf("load operator bans: %w", r.Error)
		}
		rec, err := identity.DecodeBan(r.Value)
		if err != nil {
			return fmt.Errorf("load operator ban %s: %w", r.Key, err)
		}
		b.mu.Lock()
		b.insertLocked(rec, r.Value)
		b.mu.Unlock()
	}
	return nil
}

// Check verifies one encoded record.
func (b *BanSet) Check(raw []byte) error {
	_, err := identity.DecodeBan(raw)
	return err
}

// IDs lists the records held.
func (b *BanSet) IDs() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ids := make([]string, 0, len(b.raw))
	for id := range b.raw {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Get returns the records with these IDs; unknown IDs are skipped.
func (b *BanSet) Get(_ context.Context, ids []string) [][]byte {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([][]byte, 0, len(ids))
	for _, id := range ids {
		if r, ok := b.raw[id]; ok {
			out = append(out, r)
		}
	}
	return out
}

// Add verifies and stores records (durably, before they count) and returns
// how many were new. A new honoured ban disconnects the agent if it is
// online here, as ADMIN_BAN does. A record of an operator this node does
// not honour is skipped once maxRelayedBans such records are held (logged,
// not an error), so that a full relay never holds back the records of the
// same batch that do fit. A record that does not verify is an error.
func (b *BanSet) Add(ctx context.Context, raws [][]byte) (int, error) {
	added, skipped := 0, 0
	defer func() {
		if skipped > 0 {
			b.log.Warn("ban records of operators not honoured skipped: relay set full",
				"skipped", skipped, "limit", maxRelayedBans)
		}
	}()
	for _, raw := range raws {
		rec, err := identity.DecodeBan(raw)
		if err != nil {
			return added, err
		}
		isNew, err := b.add(ctx, rec)
		switch {
		case errors.Is(err, ErrBanSetFull):
			skipped++
		case err != nil:
			return added, err
		case isNew:
			added++
		}
	}
	return added, nil
}

// add stores one verified record and reports whether it was new; a record
// that does not fit in the relay bound is ErrBanSetFull.
func (b *BanSet) add(ctx context.Context, rec *identity.Ban) (bool, error) {
	b.addMu.Lock()
	defer b.addMu.Unlock()
	id := rec.ID()
	b.mu.RLock()
	_, known := b.raw[id]
	full := !b.honour[rec.Operator] && b.relayed >= maxRelayedBans
	b.mu.RUnlock()
	if known {
		return false, nil
	}
	if full {
		return false, fmt.Errorf("%w: this node relays at most %d ban records of operators it does not honour",
			ErrBanSetFull, maxRelayedBans)
	}
	raw := rec.Encode() // stored in the canonical encoding
	key := fedBanPrefix.ChildString(id)
	if err := b.store.Put(ctx, key, raw); err != nil {
		return false, fmt.Errorf("store operator ban: %w", err)
	}
	if err := b.store.Sync(ctx, key); err != nil {
		return false, fmt.Errorf("store operator ban: sync: %w", err)
	}
	b.mu.Lock()
	b.insertLocked(rec, raw)
	b.mu.Unlock()
	if banned, reason := b.banned(rec.AgentID); banned && b.honours(rec.Operator) && b.kick != nil {
		b.kick(rec.AgentID, reason)
	}
	return true, nil
}

// insertLocked records rec; the newest record of an operator about an
// agent decides (equal timestamps: the greater ID, so every node agrees).
func (b *BanSet) insertLocked(rec *identity.Ban, raw []byte) {
	if _, ok := b.raw[rec.ID()]; ok {
		return
	}
	b.raw[rec.ID()] = raw
	b.held[rec.Operator]++
	if !b.honour[rec.Operator] {
		b.relayed++
	}
	ops := b.latest[rec.AgentID]
	if ops == nil {
		ops = map[string]*identity.Ban{}
		b.latest[rec.AgentID] = ops
	}
	if cur := ops[rec.Operator]; cur == nil || rec.Timestamp > cur.Timestamp ||
		(rec.Timestamp == cur.Timestamp && rec.ID() > cur.ID()) {
		ops[rec.Operator] = rec
	}
}

// banned reports whether an honoured operator's newest record about agent
// is a ban, with its reason; when several are, the reason is that of the
// operator with the smallest key, so it does not depend on map order.
func (b *BanSet) banned(agentID string) (bool, string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.bannedLocked(agentID)
}

// bannedLocked is banned with b.mu held.
func (b *BanSet) bannedLocked(agentID string) (bool, string) {
	ops := b.latest[agentID]
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		if rec := ops[op]; b.honour[op] && !rec.Lift {
			if rec.Reason == "" {
				return true, "Banned by operator " + op[:16]
			}
			return true, rec.Reason
		}
	}
	return false, ""
}

// Records lists every record held and whether this node enforces it.
func (b *BanSet) Records() []BanRecord {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]BanRecord, 0, len(b.raw))
	for _, ops := range b.latest {
		for op, rec := range ops {
			out = append(out, BanRecord{Ban: *rec, Honoured: b.honour[op]})
		}
	}
	slices.SortFunc(out, func(x, y BanRecord) int {
		return cmp.Or(cmp.Compare(x.AgentID, y.AgentID), cmp.Compare(x.Operator, y.Operator))
	})
	return out
}

// BanRecord is an operator's newest record about an agent, as GET /bans
// lists it.
type BanRecord struct {
	identity.Ban
	// Honoured is true if this node enforces the operator's bans.
	Honoured bool `json:"honoured"`
}
