package ledger

import (
	"maps"
	"slices"
	"strconv"

	"github.com/agentchat/mesh/protocol"
)

// Rating is one agent's standing after a fold.
type Rating struct {
	Rating float64 `json:"rating"`
	// Transactions counts the receipts that changed the agent's rating
	// (and set its K factor); Settled counts every receipt the agent is a
	// party to. They differ by the valid receipts that rate nothing
	// (Table.UnratedOf says which and why): completions within the pair
	// cooldown (PROTOCOL.md §12.1 step 1, an anti-farming rule, so a loop
	// of completions between two agents counts once an hour), receipts
	// settled after a party's key was revoked, and receipts between two
	// keys of one agent.
	Transactions int `json:"transactions"`
	Settled      int `json:"settled"`
	// Updated is the settled_at (ms) of the last receipt that changed the
	// agent, 0 if none. The original server stored wall-clock ISO text,
	// which no fold can reproduce.
	Updated int64 `json:"updated"`
}

// AgentRating is a Rating with its agent ("@id").
type AgentRating struct {
	Agent string `json:"agent"`
	Rating
}

// Table is the result of Fold: every agent's rating and every receipt's
// rating_changes. It is immutable once Fold returns and safe to share.
type Table struct {
	agents    map[string]*Rating
	changes   map[string]*RatingChanges // nil value: counted, changed nothing
	unrated   map[string]string         // proposal ID → why it changed nothing
	unratedOf map[string]map[string]int // agent → reason → its receipts that changed nothing
	order     []string                  // proposal IDs in canonical order
}

func newTable(n int) *Table {
	return &Table{
		agents:    make(map[string]*Rating),
		changes:   make(map[string]*RatingChanges, n),
		unrated:   make(map[string]string),
		unratedOf: make(map[string]map[string]int),
		order:     make([]string, 0, n),
	}
}

// Get returns the rating of agent ("@id"); an agent without receipts has
// InitialRating and no transactions.
func (t *Table) Get(agent string) Rating {
	return t.agent(agent)
}

// Changes returns the rating_changes of the receipt for proposalID. ok is
// false if the fold did not include that receipt; a nil result with ok true
// means the receipt changed no rating (a completion within the pair
// cooldown).
func (t *Table) Changes(proposalID string) (c *RatingChanges, ok bool) {
	c, ok = t.changes[proposalID]
	return c, ok
}

// Receipts returns the number of receipts folded (after de-duplication).
func (t *Table) Receipts() int { return len(t.order) }

// Unrated returns the number of receipts folded that changed no rating.
func (t *Table) Unrated() int { return len(t.unrated) }

// UnratedBy counts the receipts folded that changed no rating by reason
// (UnratedCooldown, UnratedRevoked, UnratedSameAgent); nil if none.
func (t *Table) UnratedBy() map[string]int {
	var out map[string]int
	for _, why := range t.unrated {
		if out == nil {
			out = map[string]int{}
		}
		out[why]++
	}
	return out
}

// UnratedOf counts by reason the receipts of agent ("@id", as Get names
// it) that changed no rating, which is why its Settled exceeds its
// Transactions; nil if none.
func (t *Table) UnratedOf(agent string) map[string]int {
	return maps.Clone(t.unratedOf[agent]) // nil clones to nil
}

// Reason returns why the receipt for proposalID changed no rating, "" if
// it did (or was not folded).
func (t *Table) Reason(proposalID string) string { return t.unrated[proposalID] }

// Ratings returns every agent that has a receipt, sorted by ID.
func (t *Table) Ratings() []AgentRating {
	out := make([]AgentRating, 0, len(t.agents))
	for _, id := range t.agentIDs() {
		out = append(out, AgentRating{Agent: id, Rating: *t.agents[id]})
	}
	return out
}

// Bytes returns the table's canonical encoding, compact JSON:
//
//	{"ratings":{"@id":{"rating":N,"transactions":N,"settled":N,"updated":N},…},
//	 "receipts":[{"proposal_id":"…","rating_changes":{…}|null},…]}
//
// with agents in ascending byte order of ID, receipts in canonical fold
// order, numbers as JS-strings. Equal receipt sets give equal bytes.
func (t *Table) Bytes() []byte {
	b := make([]byte, 0, 64*len(t.agents)+256*len(t.order))
	b = append(b, `{"ratings":{`...)
	for i, id := range t.agentIDs() {
		if i > 0 {
			b = append(b, ',')
		}
		a := t.agents[id]
		b = protocol.AppendJSString(b, id)
		b = append(b, `:{"rating":`...)
		b = append(b, protocol.FormatJSNumber(a.Rating)...)
		b = append(b, `,"transactions":`...)
		b = strconv.AppendInt(b, int64(a.Transactions), 10)
		b = append(b, `,"settled":`...)
		b = strconv.AppendInt(b, int64(a.Settled), 10)
		b = append(b, `,"updated":`...)
		b = strconv.AppendInt(b, a.Updated, 10)
		b = append(b, '}')
	}
	b = append(b, `},"receipts":[`...)
	for i, id := range t.order {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"proposal_id":`...)
		b = protocol.AppendJSString(b, id)
		b = append(b, `,"rating_changes":`...)
		b = t.changes[id].appendJSON(b)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// MarshalJSON returns Bytes.
func (t *Table) MarshalJSON() ([]byte, error) { return t.Bytes(), nil }

func (t *Table) agentIDs() []string {
	ids := make([]string, 0, len(t.agents))
	for id := range t.agents {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// agent returns a copy of agent's current rating.
func (t *Table) agent(id string) Rating {
	if a := t.agents[id]; a != nil {
		return *a
	}
	return Rating{Rating: InitialRating}
}

// update applies change to agent at time settled: rating floored at
// MinRating, one more transaction.
func (t *Table) update(id string, change float64, settled int64) AgentChange {
	a := t.entry(id)
	old := a.Rating
	a.Rating = applyChange(old, change)
	a.Transactions++
	a.Updated = settled
	return AgentChange{Agent: id, Change: Change{
		OldRating: old, NewRating: a.Rating, Change: change, Transactions: a.Transactions,
	}}
}

// record notes a receipt between from and to and its changes (nil: it
// changed no rating, for reason unrated); both parties have settled one
// more (one, if they are keys of one agent).
func (t *Table) record(proposalID, from, to string, c *RatingChanges, unrated string) {
	t.order = append(t.order, proposalID)
	t.changes[proposalID] = c
	t.entry(from).Settled++
	if to != from {
		t.entry(to).Settled++
	}
	if c != nil {
		return
	}
	t.unrated[proposalID] = unrated
	t.countUnrated(from, unrated)
	if to != from {
		t.countUnrated(to, unrated)
	}
}

// countUnrated counts one more receipt of agent id that changed no rating.
func (t *Table) countUnrated(id, why string) {
	m := t.unratedOf[id]
	if m == nil {
		m = map[string]int{}
		t.unratedOf[id] = m
	}
	m[why]++
}

// entry returns agent id's rating to update, created at InitialRating.
func (t *Table) entry(id string) *Rating {
	a := t.agents[id]
	if a == nil {
		a = &Rating{Rating: InitialRating}
		t.agents[id] = a
	}
	return a
}
