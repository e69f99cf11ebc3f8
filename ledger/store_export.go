package ledger

import (
	"context"
	"fmt"
)

// Export builds the bundle a node hands out. Without an agent ("") it holds
// every receipt the store can prove. For an agent ("@id") it holds every
// receipt the agent's rating depends on (DependsOn: its own, under every key
// it had, and its counterparties' earlier ones), each with its proof, so
// that verifying the bundle offline gives the rating this store's fold
// gives; it fails with ErrNoProof if one of them has no proof. Either way
// the bundle carries the identity records of the receipts' parties
// (Identities.For) of ids, the node's record set; with ids nil they are
// read from the store. A bundle whose records would exceed
// MaxBundleIdentityKeys, so that no decoder would take it, is an error
// wrapping ErrMalformed.
func (s *Store) Export(ctx context.Context, agent string, ids *Identities) (*Bundle, error) {
	if ids == nil {
		recs, err := s.Identities(ctx)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		ids = NewIdentities(recs)
	}
	var b *Bundle
	var err error
	if agent == "" {
		b, err = s.Bundle(ctx)
	} else {
		all, lerr := s.List(ctx)
		if lerr != nil {
			return nil, fmt.Errorf("export: %w", lerr)
		}
		deps := DependsOn(all, agent, ids.Lineage())
		if len(deps) == 0 {
			return &Bundle{Version: BundleVersion, Checkpoints: []Checkpoint{}, Entries: []BundleEntry{}}, nil
		}
		b, err = s.Bundle(ctx, deps...)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	in := make([]Receipt, len(b.Entries))
	for i := range b.Entries {
		in[i] = b.Entries[i].Receipt
	}
	b.Identities = ids.For(in)
	if n := signedKeys(b.Identities); n > MaxBundleIdentityKeys {
		return nil, fmt.Errorf("export: %w: the receipts' parties have %d identity records and chained rotations, more than a bundle may carry (%d)",
			ErrMalformed, n, MaxBundleIdentityKeys)
	}
	return b, nil
}
