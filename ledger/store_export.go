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
// (RecordsFor).
func (s *Store) Export(ctx context.Context, agent string) (*Bundle, error) {
	idents, err := s.Identities(ctx)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	lin := LineageOf(idents)
	var b *Bundle
	if agent == "" {
		b, err = s.Bundle(ctx)
	} else {
		all, lerr := s.List(ctx)
		if lerr != nil {
			return nil, fmt.Errorf("export: %w", lerr)
		}
		ids := DependsOn(all, agent, lin)
		if len(ids) == 0 {
			return &Bundle{Version: BundleVersion, Checkpoints: []Checkpoint{}, Entries: []BundleEntry{}}, nil
		}
		b, err = s.Bundle(ctx, ids...)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	in := make([]Receipt, len(b.Entries))
	for i := range b.Entries {
		in[i] = b.Entries[i].Receipt
	}
	b.Identities = RecordsFor(idents, lin, in)
	return b, nil
}
