package ledger

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Escrow tracks stakes reserved between ACCEPT and settlement: available
// rating is rating − active stakes − MinRating, floored at 0. Stakes are
// reserved, never deducted; only a lost dispute moves them, and that is the
// fold's job. Escrow runs no goroutines; expiry happens when the owner
// calls ReleaseExpired. Safe for concurrent use.
type Escrow struct {
	cfg EscrowConfig

	// opMu serialises state changes across their write-ahead persist, so a
	// check, its persist and its commit happen as one step. Readers take only
	// mu. Lock order: opMu, then mu. Hooks run with neither held.
	opMu sync.Mutex
	mu   sync.Mutex
	recs map[string]*EscrowRecord // guarded by mu
	held map[string]int64         // agent → sum of active stakes; guarded by mu
}

// NewEscrow returns an empty tracker; call Load to restore persisted state.
func NewEscrow(cfg EscrowConfig) *Escrow {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Escrow{cfg: cfg, recs: make(map[string]*EscrowRecord), held: make(map[string]int64)}
}

// Load replaces the tracker's state with the persister's records.
func (e *Escrow) Load(ctx context.Context) error {
	if e.cfg.Persister == nil {
		return nil
	}
	recs, err := e.cfg.Persister.LoadEscrows(ctx)
	if err != nil {
		return fmt.Errorf("load escrows: %w", err)
	}
	e.opMu.Lock()
	defer e.opMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.recs)
	clear(e.held)
	for i := range recs {
		e.commitLocked(recs[i])
	}
	return nil
}

func (e *Escrow) rating(agent string) float64 {
	if e.cfg.Ratings == nil {
		return InitialRating
	}
	return e.cfg.Ratings(agent)
}

// Available returns max(0, rating − active stakes − MinRating) for agent,
// with the stakes of every key of its identity (EscrowConfig.Keys).
func (e *Escrow) Available(agent string) float64 {
	keys := []string{agent}
	if e.cfg.Keys != nil {
		keys = e.cfg.Keys(agent)
	}
	var held int64
	e.mu.Lock()
	for _, k := range keys {
		held += e.held[k]
	}
	e.mu.Unlock()
	return max(0, e.rating(agent)-float64(held)-MinRating)
}

// CanStake returns nil if agent can stake amount now (any amount ≤ 0 can),
// else an *InsufficientError.
func (e *Escrow) CanStake(agent string, amount int64) error {
	if ie := e.canStake(agent, amount); ie != nil {
		return ie
	}
	return nil
}

// canStake is CanStake with a concrete result (a nil *InsufficientError
// must not become a non-nil error).
func (e *Escrow) canStake(agent string, amount int64) *InsufficientError {
	if amount <= 0 {
		return nil
	}
	if avail := e.Available(agent); float64(amount) > avail {
		return &InsufficientError{Available: avail, Requested: amount}
	}
	return nil
}

// Get returns the record of proposalID.
func (e *Escrow) Get(proposalID string) (EscrowRecord, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.recs[proposalID]; r != nil {
		return *r, true
	}
	return EscrowRecord{}, false
}

// Active returns the active records, sorted by proposal ID.
func (e *Escrow) Active() []EscrowRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []EscrowRecord
	for _, id := range slices.Sorted(maps.Keys(e.recs)) {
		if r := e.recs[id]; r.Status == EscrowActive {
			out = append(out, *r)
		}
	}
	return out
}

// Reservation is what ACCEPT knows when it reserves stakes.
type Reservation struct {
	ProposalID    string
	From, To      string // "@id" of proposer and acceptor
	ProposerStake int64
	AcceptorStake int64
	// ExpiresAt is the proposal's absolute expiry (ms), if any.
	ExpiresAt *int64
	// Task, Amount and Currency are copied into the escrow:created event.
	Task     string
	Amount   *float64
	Currency string
}

// Reserve creates the escrow for an accepted proposal when either stake is
// positive (replacing a record no longer active: a refused ACCEPT may be
// retried), after re-checking both (PROTOCOL.md §12.3): an *InsufficientError
// with Party "Proposer" or "Acceptor" refuses it. With no positive stake it
// returns (nil, nil) and creates nothing. The record is persisted before
// Reserve returns, then escrow:created is emitted.
func (e *Escrow) Reserve(ctx context.Context, res Reservation) (*EscrowRecord, error) {
	if res.ProposerStake <= 0 && res.AcceptorStake <= 0 {
		return nil, nil
	}
	if !validProposalID(res.ProposalID) {
		return nil, fmt.Errorf("reserve escrow: %w: proposal ID %q", ErrMalformed, res.ProposalID)
	}
	e.opMu.Lock()
	if old, ok := e.Get(res.ProposalID); ok && old.Status == EscrowActive {
		e.opMu.Unlock()
		return nil, fmt.Errorf("reserve escrow %q: %w", res.ProposalID, ErrEscrowExists)
	}
	for _, c := range []struct {
		party, agent string
		stake        int64
	}{{"Proposer", res.From, res.ProposerStake}, {"Acceptor", res.To, res.AcceptorStake}} {
		if ie := e.canStake(c.agent, c.stake); ie != nil {
			e.opMu.Unlock()
			ie.Party = c.party
			return nil, fmt.Errorf("reserve escrow %q: %w", res.ProposalID, ie)
		}
	}
	rec := EscrowRecord{
		ProposalID: res.ProposalID,
		CreatedAt:  e.cfg.Now().UnixMilli(),
		From:       EscrowParty{AgentID: res.From, Stake: max(0, res.ProposerStake)},
		To:         EscrowParty{AgentID: res.To, Stake: max(0, res.AcceptorStake)},
		Status:     EscrowActive,
		ExpiresAt:  res.ExpiresAt,
	}
	err := e.persistAndCommit(ctx, rec)
	e.opMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("reserve escrow %q: %w", res.ProposalID, err)
	}
	total := rec.From.Stake + rec.To.Stake
	e.cfg.Hooks.Emit(Event{
		Event: EventEscrowCreated, Timestamp: rec.CreatedAt, ProposalID: rec.ProposalID,
		FromAgent: rec.From.AgentID, ToAgent: rec.To.AgentID,
		ProposerStake: ptr(rec.From.Stake), AcceptorStake: ptr(rec.To.Stake), TotalStake: &total,
		Task: res.Task, Amount: res.Amount, Currency: res.Currency, Expires: res.ExpiresAt,
		EscrowID: rec.ProposalID,
	})
	return &rec, nil
}

// Settle ends the escrow of a settled receipt — status settled, reason
// completed or disputed, settled_at = the receipt's — and emits the §19
// settlement event with changes (the fold's rating_changes for r, nil if it
// changed nothing):
//
//   - settlement:completion when an active escrow was settled (the original
//     leaves an escrow active when a completion falls in the pair cooldown;
//     here its stakes are returned and the event carries no rating changes);
//   - settlement:dispute for every dispute, escrow or not.
//
// A receipt without an escrow is not an error. An escrow already settled or
// released fails with ErrEscrowNotActive and emits nothing.
func (e *Escrow) Settle(ctx context.Context, r *Receipt, changes *RatingChanges) error {
	id := r.ID()
	reason := ReasonCompleted
	if r.Outcome.Kind == KindDispute {
		reason = ReasonDisputed
	}
	e.opMu.Lock()
	rec, had := e.Get(id)
	var err error
	switch {
	case had && rec.Status != EscrowActive:
		err = fmt.Errorf("settle escrow %q: %w (%s)", id, ErrEscrowNotActive, rec.Status)
	case had:
		rec.Status = EscrowSettled
		rec.SettledAt = ptr(r.Outcome.SettledAt)
		rec.SettlementReason = &reason
		if err = e.persistAndCommit(ctx, rec); err != nil {
			err = fmt.Errorf("settle escrow %q: %w", id, err)
		}
	}
	e.opMu.Unlock()
	if err != nil {
		return err
	}

	p := &r.Proposal
	ev := Event{
		Timestamp: e.cfg.Now().UnixMilli(), ProposalID: id, FromAgent: p.From, ToAgent: p.To,
		RatingChanges: changes.Parties(),
	}
	switch {
	case reason == ReasonCompleted && had:
		ev.Event = EventSettlementCompletion
		ev.CompletedBy, ev.CompletionProof = r.Outcome.By, r.Outcome.Proof
		ev.Settlement = SettlementReturned
		ev.StakesReturned = &StakePair{Proposer: rec.From.Stake, Acceptor: rec.To.Stake}
	case reason == ReasonDisputed:
		ev.Event = EventSettlementDispute
		ev.DisputedBy, ev.DisputeReason = r.Outcome.By, r.Outcome.Reason
		ev.Settlement = "settled"
		if changes != nil && changes.Escrow != nil {
			ev.Settlement = changes.Escrow.Settlement
		}
	default:
		return nil
	}
	e.cfg.Hooks.Emit(ev)
	return nil
}

// Release returns the stakes of an active escrow without any rating change
// (status released) and emits escrow:released. reason "" means "expired".
// Errors wrap ErrNotFound or ErrEscrowNotActive.
func (e *Escrow) Release(ctx context.Context, proposalID, reason string) error {
	if reason == "" {
		reason = ReasonExpired
	}
	e.opMu.Lock()
	rec, ok := e.Get(proposalID)
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("release escrow %q: %w", proposalID, ErrNotFound)
	case rec.Status != EscrowActive:
		err = fmt.Errorf("release escrow %q: %w (%s)", proposalID, ErrEscrowNotActive, rec.Status)
	default:
		now := e.cfg.Now().UnixMilli()
		rec.Status, rec.SettledAt, rec.SettlementReason = EscrowReleased, &now, &reason
		if err = e.persistAndCommit(ctx, rec); err != nil {
			err = fmt.Errorf("release escrow %q: %w", proposalID, err)
		}
	}
	e.opMu.Unlock()
	if err != nil {
		return err
	}
	e.cfg.Hooks.Emit(Event{
		Event: EventEscrowReleased, Timestamp: *rec.SettledAt, ProposalID: proposalID,
		FromAgent: rec.From.AgentID, ToAgent: rec.To.AgentID,
		StakesReleased: &StakePair{Proposer: rec.From.Stake, Acceptor: rec.To.Stake},
		Reason:         reason,
	})
	return nil
}

// ReleaseExpired releases every active escrow whose ExpiresAt is at or
// before now, and returns their proposal IDs. It stops at the first error.
func (e *Escrow) ReleaseExpired(ctx context.Context) ([]string, error) {
	now := e.cfg.Now().UnixMilli()
	var ids []string
	for _, r := range e.Active() {
		if r.ExpiresAt == nil || *r.ExpiresAt > now {
			continue
		}
		if err := e.Release(ctx, r.ProposalID, ReasonExpired); err != nil {
			return ids, err
		}
		ids = append(ids, r.ProposalID)
	}
	return ids, nil
}

// persistAndCommit writes rec ahead and then applies it. Caller holds opMu.
func (e *Escrow) persistAndCommit(ctx context.Context, rec EscrowRecord) error {
	if p := e.cfg.Persister; p != nil {
		if err := p.SaveEscrow(ctx, rec); err != nil {
			return fmt.Errorf("persist: %w", err)
		}
	}
	e.mu.Lock()
	e.commitLocked(rec)
	e.mu.Unlock()
	return nil
}

// commitLocked stores rec and keeps held in step. Caller holds mu.
func (e *Escrow) commitLocked(rec EscrowRecord) {
	if old := e.recs[rec.ProposalID]; old != nil && old.Status == EscrowActive {
		e.adjust(old, -1)
	}
	e.recs[rec.ProposalID] = &rec
	if rec.Status == EscrowActive {
		e.adjust(&rec, +1)
	}
}

func (e *Escrow) adjust(r *EscrowRecord, sign int64) {
	for _, p := range []EscrowParty{r.From, r.To} {
		e.held[p.AgentID] += sign * p.Stake
		if e.held[p.AgentID] == 0 {
			delete(e.held, p.AgentID)
		}
	}
}
