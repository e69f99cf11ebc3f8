package market

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
)

// Machine is the marketplace of one node: the proposals this node is
// authoritative for (those its agents proposed), the skills registry, and
// the node's view of every rating (a fold over the receipts it holds).
//
// Lock order: courtMu, then settleMu, then Machine.mu, then the ledger's
// own locks. mu is not held
// across the durable receipt write, which is serialised by settleMu.
type Machine struct {
	cfg    Config
	log    *slog.Logger
	escrow *ledger.Escrow
	skills *registry

	settleMu sync.Mutex // one settlement at a time: store, then refold
	courtMu  sync.Mutex // one court transition at a time: copy, store, swap
	court    CourtConfig

	mu        sync.Mutex // guards the fields below
	proposals map[string]*proposal
	remote    map[string]*remoteProposal // held elsewhere, for agents here
	receipts  []ledger.Receipt
	parties   map[string]bool       // the IDs (no "@") the receipts name as proposer or recipient
	unproven  map[string]bool       // receipts stored without an inclusion proof
	idents    *ledger.Identities    // the identity records held
	identIDs  map[string]bool       // their IDs
	lineage   *identity.Lineage     // idents.Lineage()
	table     *ledger.Table         // FoldLineage(receipts, lineage)
	cases     map[string]*courtCase // agentcourt cases held here, by dispute ID
	caseOf    map[string]string     // proposal ID -> dispute ID
	routes    map[string]string     // dispute ID -> node holding it (ObserveCase)
}

// New loads the node's receipts, folds them and restores escrows and
// skills. It starts nothing; Run expires proposals.
func New(ctx context.Context, cfg Config) (*Machine, error) {
	if cfg.Store == nil || cfg.Datastore == nil || len(cfg.NodeKey) == 0 {
		return nil, fmt.Errorf("market config: store, datastore and node key are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Machine{cfg: cfg, log: log.With("component", "market"), proposals: map[string]*proposal{},
		remote: map[string]*remoteProposal{}, court: cfg.Court.withDefaults(), caseOf: map[string]string{},
		routes: map[string]string{}}
	receipts, err := cfg.Store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("load receipts: %w", err)
	}
	m.holdLocked(receipts...)
	if m.unproven, err = unprovenOf(ctx, cfg.Store, receipts); err != nil {
		return nil, err
	}
	idents, err := cfg.Store.Identities(ctx)
	if err != nil {
		return nil, fmt.Errorf("load identity records: %w", err)
	}
	m.setIdentitiesLocked(idents)
	m.refoldLocked()
	m.escrow = ledger.NewEscrow(ledger.EscrowConfig{
		Ratings:   func(agent string) float64 { return m.Rating(agent).Rating },
		Keys:      m.keysOf,
		Persister: ledger.DatastoreEscrows{DS: cfg.Datastore},
		Hooks:     cfg.Hooks,
		Now:       cfg.Now,
	})
	if err := m.escrow.Load(ctx); err != nil {
		return nil, fmt.Errorf("load escrows: %w", err)
	}
	if m.skills, err = loadRegistry(ctx, cfg.Datastore); err != nil {
		return nil, err
	}
	if m.cases, err = loadCases(ctx, cfg.Datastore); err != nil {
		return nil, err
	}
	for id, k := range m.cases {
		m.caseOf[k.ProposalID] = id
	}
	m.log.Info("market loaded", "receipts", len(receipts), "agents", len(m.table.Ratings()))
	return m, nil
}

// Run expires proposals past their deadline and moves agentcourt cases
// past theirs until ctx ends.
func (m *Machine) Run(ctx context.Context, c Courier) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.expire(ctx, c)
			m.courtTick(ctx, c)
		}
	}
}

// Rating is an agent's ("@id") standing in this node's fold: that of the
// key it handed over to in the end, which holds every earlier key's
// receipts (FoldLineage).
func (m *Machine) Rating(agent string) ledger.Rating {
	rt, _ := m.standing(agent)
	return rt
}

// standing is Rating with the agent's receipts that changed no rating, by
// reason (Table.UnratedOf), from one fold.
func (m *Machine) standing(agent string) (ledger.Rating, map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := "@" + m.lineage.Current(strings.TrimPrefix(agent, "@"))
	return m.table.Get(id), m.table.UnratedOf(id)
}

// unprovenOf lists the receipts the store holds without a proof.
func unprovenOf(ctx context.Context, st *ledger.Store, receipts []ledger.Receipt) (map[string]bool, error) {
	out := map[string]bool{}
	for _, r := range receipts {
		ok, err := st.HasProof(ctx, r.ID())
		if err != nil {
			return nil, fmt.Errorf("load receipt proofs: %w", err)
		}
		if !ok {
			out[r.ID()] = true
		}
	}
	return out, nil
}

// Table returns the current fold; it is immutable.
func (m *Machine) Table() *ledger.Table {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.table
}

// Handle runs one marketplace frame from an authenticated agent. The node
// has checked the agent is identified and, for signed operations, holds a
// key; every signature is verified here against that key.
func (m *Machine) Handle(ctx context.Context, from Caller, msg protocol.Message, c Courier) *protocol.Error {
	if r := m.remoteFor(proposalOf(msg)); r != nil {
		return m.forward(ctx, from, msg, r, c)
	}
	if id := disputeOf(msg); id != "" {
		if node := m.routeFor(id); node != "" {
			return m.forwardCase(node, id, c)
		}
	}
	switch msg := msg.(type) {
	case *protocol.SearchSkills:
		return m.search(from, msg, c)
	case *protocol.RegisterSkills:
		return m.register(ctx, from, msg, c)
	case *protocol.Proposal:
		return m.propose(from, msg, c)
	case *protocol.Accept:
		return m.accept(ctx, from, msg, c)
	case *protocol.Reject:
		return m.reject(from, msg, c)
	case *protocol.Complete:
		return m.complete(ctx, from, msg, c)
	case *protocol.Dispute:
		return m.dispute(ctx, from, msg, c)
	}
	return m.handleCourt(ctx, from, msg, c)
}

// proposalOf returns the proposal an operation is about, "" for others.
func proposalOf(msg protocol.Message) string {
	switch msg := msg.(type) {
	case *protocol.Accept:
		return msg.ProposalID
	case *protocol.Reject:
		return msg.ProposalID
	case *protocol.Complete:
		return msg.ProposalID
	case *protocol.Dispute:
		return msg.ProposalID
	case *protocol.DisputeIntent:
		return msg.ProposalID
	case *protocol.DisputeReveal:
		return msg.ProposalID
	}
	return ""
}

// Stats feeds /health.
func (m *Machine) Stats() (total int, byStatus map[string]int, agents int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	byStatus = map[string]int{}
	seen := map[string]bool{}
	for _, p := range m.proposals {
		byStatus[p.status]++
		seen[p.signed.From], seen[p.signed.To] = true, true
	}
	return len(m.proposals), byStatus, len(seen)
}

func (m *Machine) now() int64 { return m.cfg.Now().UnixMilli() }

// EscrowStatus returns the status of a proposal's escrow, if one was made.
func (m *Machine) EscrowStatus(proposalID string) (string, bool) {
	rec, ok := m.escrow.Get(proposalID)
	return rec.Status, ok
}
