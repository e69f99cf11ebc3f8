package ledger

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
)

// escrowPrefix holds one key per escrow: /escrow/<proposal_id> → JSON
// EscrowRecord.
const escrowPrefix = "/escrow"

// DatastoreEscrows is an EscrowPersister on a go-datastore. Each save is
// put and synced before it returns.
type DatastoreEscrows struct {
	DS datastore.Datastore
}

var _ EscrowPersister = DatastoreEscrows{}

// SaveEscrow writes rec durably.
func (d DatastoreEscrows) SaveEscrow(ctx context.Context, rec EscrowRecord) error {
	if !validProposalID(rec.ProposalID) {
		return fmt.Errorf("save escrow: %w: proposal ID %q", ErrMalformed, rec.ProposalID)
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("save escrow %q: %w", rec.ProposalID, err)
	}
	k := datastore.RawKey(escrowPrefix + "/" + rec.ProposalID)
	if err := d.DS.Put(ctx, k, v); err != nil {
		return fmt.Errorf("save escrow %q: %w", rec.ProposalID, err)
	}
	if err := d.DS.Sync(ctx, k); err != nil {
		return fmt.Errorf("save escrow %q: sync: %w", rec.ProposalID, err)
	}
	return nil
}

// LoadEscrows returns every stored record.
func (d DatastoreEscrows) LoadEscrows(ctx context.Context) ([]EscrowRecord, error) {
	res, err := d.DS.Query(ctx, query.Query{Prefix: escrowPrefix, Orders: []query.Order{query.OrderByKey{}}})
	if err != nil {
		return nil, fmt.Errorf("load escrows: %w", err)
	}
	defer func() { _ = res.Close() }()
	var out []EscrowRecord
	for {
		e, ok := res.NextSync()
		if !ok {
			return out, nil
		}
		if e.Error != nil {
			return nil, fmt.Errorf("load escrows: %w", e.Error)
		}
		var rec EscrowRecord
		if err := decodeStrict(e.Value, &rec); err != nil {
			return nil, fmt.Errorf("load escrows: key %s: %w", e.Key, err)
		}
		out = append(out, rec)
	}
}
