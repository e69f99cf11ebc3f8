package ledger

import (
	"context"
	"fmt"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
)

// identitiesPrefix holds the identity records the fold depends on:
// /identities/<record id> → the record's encoding.
const identitiesPrefix = "/identities/"

// PutIdentity verifies rec and stores it durably; it reports whether the
// record was new. Storing a record again is a no-op.
func (s *Store) PutIdentity(ctx context.Context, rec IdentityRecord) (bool, error) {
	if err := rec.Verify(); err != nil {
		return false, fmt.Errorf("store identity record: %w", err)
	}
	k := datastore.RawKey(identitiesPrefix + rec.ID())
	s.mu.Lock()
	defer s.mu.Unlock()
	switch has, err := s.ds.Has(ctx, k); {
	case err != nil:
		return false, fmt.Errorf("store identity record %s: %w", rec.ID(), err)
	case has:
		return false, nil
	}
	if err := s.ds.Put(ctx, k, rec.Encode()); err != nil {
		return false, fmt.Errorf("store identity record %s: %w", rec.ID(), err)
	}
	if err := s.ds.Sync(ctx, k); err != nil {
		return false, fmt.Errorf("store identity record %s: sync: %w", rec.ID(), err)
	}
	return true, nil
}

// Identities returns every stored identity record, in ID order.
func (s *Store) Identities(ctx context.Context) ([]IdentityRecord, error) {
	res, err := s.ds.Query(ctx, query.Query{
		Prefix: identitiesPrefix[:len(identitiesPrefix)-1],
		Orders: []query.Order{query.OrderByKey{}},
	})
	if err != nil {
		return nil, fmt.Errorf("list identity records: %w", err)
	}
	defer func() { _ = res.Close() }()
	var out []IdentityRecord
	for {
		e, ok := res.NextSync()
		if !ok {
			return out, nil
		}
		if e.Error != nil {
			return nil, fmt.Errorf("list identity records: %w", e.Error)
		}
		rec, err := DecodeIdentityRecord(e.Value)
		if err != nil {
			return nil, fmt.Errorf("list identity records: key %s: %w", e.Key, err)
		}
		out = append(out, rec)
	}
}
