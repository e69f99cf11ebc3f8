package market

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/agentchat/mesh/protocol"
)

// registration is one agent's skills as registered and signed (§14). It
// keeps the signature and key so any node can re-verify it.
type registration struct {
	AgentID      string          `json:"agent_id"` // "@id"
	Skills       json.RawMessage `json:"skills"`
	RegisteredAt int64           `json:"registered_at"`
	Sig          string          `json:"sig"`
	Pubkey       string          `json:"pubkey"`
}

var skillsPrefix = datastore.NewKey("/skills")

// registry holds every registration, persisted in the datastore.
type registry struct {
	ds   datastore.Datastore
	mu   sync.Mutex
	regs map[string]registration // by "@id"
}

func loadRegistry(ctx context.Context, ds datastore.Datastore) (*registry, error) {
	r := &registry{ds: ds, regs: map[string]registration{}}
	res, err := ds.Query(ctx, query.Query{Prefix: skillsPrefix.String()})
	if err != nil {
		return nil, fmt.Errorf("load skills: %w", err)
	}
	defer res.Close()
	for e := range res.Next() {
		if e.Error != nil {
			return nil, fmt.Errorf("load skills: %w", e.Error)
		}
		var reg registration
		if err := json.Unmarshal(e.Value, &reg); err != nil {
			return nil, fmt.Errorf("load skills %s: %w", e.Key, err)
		}
		r.regs[reg.AgentID] = reg
	}
	return r, nil
}

func (r *registry) put(ctx context.Context, reg registration) error {
	b, err := json.Marshal(reg)
	if err != nil {
		return err
	}
	key := skillsPrefix.ChildString(strings.TrimPrefix(reg.AgentID, "@"))
	if err := r.ds.Put(ctx, key, b); err != nil {
		return err
	}
	if err := r.ds.Sync(ctx, key); err != nil {
		return err
	}
	r.mu.Lock()
	r.regs[reg.AgentID] = reg
	r.mu.Unlock()
	return nil
}

// register implements REGISTER_SKILLS: the signature covers the SHA-256 of
// the array re-serialised the way JSON.stringify does (JSR).
func (m *Machine) register(ctx context.Context, from Caller, msg *protocol.RegisterSkills, c Courier) *protocol.Error {
	jsr, err := protocol.JSR(msg.Skills)
	if err != nil {
		return protocol.Errorf(protocol.CodeInvalidMsg, "Missing or invalid skills array")
	}
	if perr := checkCaller(from, protocol.RegisterSkillsSigningString(jsr), msg.Sig); perr != nil {
		return perr
	}
	var skills []json.RawMessage
	_ = json.Unmarshal(msg.Skills, &skills) // validated by the decoder
	now := m.now()
	reg := registration{AgentID: "@" + from.ID, Skills: msg.Skills, RegisteredAt: now, Sig: msg.Sig, Pubkey: from.Pubkey}
	if err := m.skills.put(ctx, reg); err != nil {
		m.log.Error("store skills", "agent", from.ID, "err", err)
		return errStore
	}
	if m.cfg.OnSkills != nil {
		b, _ := json.Marshal(reg)
		m.cfg.OnSkills(b)
	}
	c.Reply(&protocol.SkillsRegistered{Type: protocol.TypeSkillsRegistered, TS: now, AgentID: reg.AgentID,
		SkillsCount: len(skills), RegisteredAt: now})
	return nil
}

// search implements SEARCH_SKILLS over every registration (§14).
func (m *Machine) search(_ Caller, msg *protocol.SearchSkills, c Courier) *protocol.Error {
	q := msg.Query
	type hit struct {
		fields       map[string]any
		skillRating  float64
		agentRating  float64
		registeredAt int64
	}
	var hits []hit
	m.skills.mu.Lock()
	regs := make([]registration, 0, len(m.skills.regs))
	for _, r := range m.skills.regs {
		regs = append(regs, r)
	}
	m.skills.mu.Unlock()
	for _, reg := range regs {
		var skills []map[string]any
		if json.Unmarshal(reg.Skills, &skills) != nil {
			continue
		}
		rating := m.Rating(reg.AgentID)
		for _, s := range skills {
			capability, _ := s["capability"].(string)
			if q.Capability != "" && !strings.Contains(strings.ToLower(capability), strings.ToLower(q.Capability)) {
				continue
			}
			if rate, ok := s["rate"].(float64); ok && q.MaxRate != nil && rate > *q.MaxRate {
				continue
			}
			if cur, ok := s["currency"].(string); ok && q.Currency != "" && !strings.EqualFold(cur, q.Currency) {
				continue
			}
			f := map[string]any{"agent_id": reg.AgentID}
			for k, v := range s {
				f[k] = v
			}
			f["registered_at"] = reg.RegisteredAt
			f["agent_rating"] = rating.Rating
			f["agent_transactions"] = rating.Transactions
			f["skill_rating"] = rating.Rating
			f["skill_transactions"] = 0
			f["skill_updated"] = nil
			hits = append(hits, hit{fields: f, skillRating: rating.Rating, agentRating: rating.Rating, registeredAt: reg.RegisteredAt})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.skillRating != b.skillRating {
			return a.skillRating > b.skillRating
		}
		if a.agentRating != b.agentRating {
			return a.agentRating > b.agentRating
		}
		return a.registeredAt > b.registeredAt
	})
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	results := []json.RawMessage{}
	for i, h := range hits {
		if i == limit {
			break
		}
		b, _ := json.Marshal(h.fields)
		results = append(results, b)
	}
	query, _ := protocol.Encode(q)
	qid := msg.QueryID
	if len(qid) == 0 {
		qid = json.RawMessage("null")
	}
	c.Reply(&protocol.SearchResults{Type: protocol.TypeSearchResults, TS: m.now(), QueryID: qid, Query: query,
		Results: results, Total: len(hits)})
	return nil
}
