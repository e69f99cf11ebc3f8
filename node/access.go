package node

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/agentchat/mesh/identity"
)

// allowEntry is one allowlist record (§16.1), stored under /allowlist/<id>.
type allowEntry struct {
	Pubkey     string `json:"pubkey"`
	AgentID    string `json:"agentId"`
	ApprovedAt string `json:"approvedAt"`
	ApprovedBy string `json:"approvedBy"`
	Note       string `json:"note"`
}

// banEntry is one ban (§16.2), stored under /bans/<id>.
type banEntry struct {
	AgentID  string `json:"agentId"`
	Reason   string `json:"reason"`
	BannedAt string `json:"bannedAt"`
	BannedBy string `json:"bannedBy"`
}

var (
	allowPrefix = datastore.NewKey("/allowlist")
	banPrefix   = datastore.NewKey("/bans")
)

// access holds the allowlist and the banlist: read from the datastore at
// start, written through on every change so they survive a restart.
type access struct {
	store datastore.Batching
	mu    sync.RWMutex          // guards the maps; taken after Server.mu
	allow map[string]allowEntry // by agent ID
	bans  map[string]banEntry
}

func newAccess(store datastore.Batching) *access {
	return &access{store: store, allow: map[string]allowEntry{}, bans: map[string]banEntry{}}
}

func (a *access) load(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := loadJSON(ctx, a.store, allowPrefix, func(e allowEntry) {
		// Re-derive the ID from the key, as the original does on load.
		e.AgentID = identity.AgentID(e.Pubkey)
		a.allow[e.AgentID] = e
	}); err != nil {
		return fmt.Errorf("load allowlist: %w", err)
	}
	if err := loadJSON(ctx, a.store, banPrefix, func(e banEntry) { a.bans[e.AgentID] = e }); err != nil {
		return fmt.Errorf("load bans: %w", err)
	}
	return nil
}

func loadJSON[T any](ctx context.Context, store datastore.Datastore, prefix datastore.Key, add func(T)) error {
	res, err := store.Query(ctx, query.Query{Prefix: prefix.String()})
	if err != nil {
		return err
	}
	defer res.Close()
	for r := range res.Next() {
		if r.Error != nil {
			return r.Error
		}
		var v T
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return fmt.Errorf("record %s: %w", r.Key, err)
		}
		add(v)
	}
	return nil
}

func putJSON(ctx context.Context, store datastore.Datastore, key datastore.Key, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := store.Put(ctx, key, b); err != nil {
		return err
	}
	return store.Sync(ctx, key)
}

// checkIdentify applies the allowlist to an IDENTIFY (§16.1).
func (a *access) checkIdentify(enabled, strict bool, pubkey string) (bool, string) {
	if !enabled {
		return true, "allowlist disabled"
	}
	if pubkey == "" {
		if strict {
			return false, "ephemeral connections blocked in strict mode"
		}
		return true, "ephemeral allowed"
	}
	if a.listed(pubkey) {
		return true, "pubkey approved"
	}
	if strict {
		return false, "pubkey not in allowlist"
	}
	return true, "pubkey tracked (not approved)"
}

func (a *access) listed(pubkey string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	e, ok := a.allow[identity.AgentID(pubkey)]
	return ok && e.Pubkey == pubkey
}

func (a *access) approve(ctx context.Context, pubkey, note string) (string, error) {
	e := allowEntry{Pubkey: pubkey, AgentID: identity.AgentID(pubkey),
		ApprovedAt: isoNow(), ApprovedBy: "admin", Note: note}
	if err := putJSON(ctx, a.store, allowPrefix.ChildString(e.AgentID), e); err != nil {
		return "", fmt.Errorf("store allowlist entry: %w", err)
	}
	a.mu.Lock()
	a.allow[e.AgentID] = e
	a.mu.Unlock()
	return e.AgentID, nil
}

// revoke removes the entry whose pubkey or agent ID is ident; false if none.
func (a *access) revoke(ctx context.Context, ident string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, e := range a.allow {
		if e.Pubkey == ident || id == strings.TrimPrefix(ident, "@") {
			if err := a.store.Delete(ctx, allowPrefix.ChildString(id)); err != nil {
				return false, fmt.Errorf("delete allowlist entry: %w", err)
			}
			delete(a.allow, id)
			return true, nil
		}
	}
	return false, nil
}

func (a *access) entries() []allowEntry {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]allowEntry, 0, len(a.allow))
	for _, e := range a.allow {
		out = append(out, e)
	}
	return out
}

func (a *access) banned(id string) (bool, string) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	e, ok := a.bans[id]
	if !ok {
		return false, ""
	}
	if e.Reason == "" {
		return true, "banned"
	}
	return true, e.Reason
}

func (a *access) ban(ctx context.Context, id, reason string) error {
	e := banEntry{AgentID: id, Reason: reason, BannedAt: isoNow(), BannedBy: "admin"}
	if err := putJSON(ctx, a.store, banPrefix.ChildString(id), e); err != nil {
		return fmt.Errorf("store ban: %w", err)
	}
	a.mu.Lock()
	a.bans[id] = e
	a.mu.Unlock()
	return nil
}

// unban lifts a ban; false if id was not banned.
func (a *access) unban(ctx context.Context, id string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.bans[id]; !ok {
		return false, nil
	}
	if err := a.store.Delete(ctx, banPrefix.ChildString(id)); err != nil {
		return false, fmt.Errorf("delete ban: %w", err)
	}
	delete(a.bans, id)
	return true, nil
}

func isoNow() string { return isoTime(time.Now()) }
