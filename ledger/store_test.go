package ledger

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/stretchr/testify/require"
)

func memDS() datastore.Batching { return dssync.MutexWrap(datastore.NewMapDatastore()) }

func fixedNow() time.Time { return time.UnixMilli(t0 + 10*PairCooldownMS) }

func openStore(t testing.TB, ds datastore.Batching, key ed25519.PrivateKey) *Store {
	t.Helper()
	s, err := OpenStore(t.Context(), StoreConfig{Datastore: ds, NodeKey: key, Now: fixedNow})
	require.NoError(t, err)
	return s
}

// receiptN returns the n-th of a family of valid receipts countersigned by node.
func receiptN(t testing.TB, n int, node ed25519.PrivateKey) Receipt {
	from, to := alice, bob
	if n%3 == 1 {
		from, to = bob, carol
	}
	return rspec{id: fmt.Sprintf("prop_%04d", n), from: from, to: to, settled: t0 + int64(n)*1000, node: node}.signed(t)
}

func TestStoreDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	ds, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	s := openStore(t, ds, nodeA)
	r := receiptN(t, 1, nodeA)
	require.NoError(t, s.Put(ctx, r))
	cp1, err := s.Checkpoint(ctx)
	require.NoError(t, err)
	require.NoError(t, ds.Close())

	ds, err = leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	defer ds.Close()
	s = openStore(t, ds, nodeA)
	got, err := s.Get(ctx, r.ID())
	require.NoError(t, err)
	require.Equal(t, r, got)
	require.Equal(t, int64(1), s.LogSize())
	cp2, err := s.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, cp1.Root, cp2.Root)
	all, err := s.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []Receipt{r}, all)
}

func TestStorePut(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, memDS(), nodeA)
	r := receiptN(t, 1, nodeA)
	require.NoError(t, s.Put(ctx, r))
	require.NoError(t, s.Put(ctx, r), "the same receipt again is a no-op")
	require.Equal(t, int64(1), s.LogSize())

	// Same proposal, different receipt (settled a second later).
	other := rspec{id: r.ID(), from: bob, to: carol, settled: t0 + 2000}.signed(t)
	require.ErrorIs(t, s.Put(ctx, other), ErrConflict)

	bad := receiptN(t, 2, nodeA)
	bad.Proposal.Terms = "x"
	require.ErrorIs(t, s.Put(ctx, bad), ErrBadCountersig)
	has, err := s.Has(ctx, bad.ID())
	require.NoError(t, err)
	require.False(t, has)

	// A receipt of another node is stored but not logged here.
	foreign := receiptN(t, 3, nodeB)
	require.NoError(t, s.Put(ctx, foreign))
	require.Equal(t, int64(1), s.LogSize())
	got, err := s.Get(ctx, foreign.ID())
	require.NoError(t, err)
	require.Equal(t, foreign, got)

	_, err = s.Get(ctx, "prop_missing")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.Get(ctx, "../receipts")
	require.ErrorIs(t, err, ErrNotFound)
	all, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
}

func TestStoreWithoutNodeKey(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, memDS(), nil)
	require.NoError(t, s.Put(ctx, receiptN(t, 1, nodeA)))
	require.Equal(t, int64(0), s.LogSize())
	_, err := s.Checkpoint(ctx)
	require.ErrorIs(t, err, ErrNoNodeKey)
	_, err = OpenStore(ctx, StoreConfig{})
	require.Error(t, err)
}

func TestStoreConcurrentPuts(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, memDS(), nodeA)
	const n = 24
	rs := make([]Receipt, n)
	for i := range rs {
		rs[i] = receiptN(t, i, nodeA)
	}
	var wg sync.WaitGroup
	for i := range rs {
		wg.Go(func() {
			require.NoError(t, s.Put(context.Background(), rs[i]))
			require.NoError(t, s.Put(context.Background(), rs[i]))
		})
	}
	wg.Wait()
	require.Equal(t, int64(n), s.LogSize())
	cp, err := s.Checkpoint(ctx)
	require.NoError(t, err)
	for i := range rs {
		idx, proof, err := s.Prove(ctx, rs[i].ID(), &cp)
		require.NoError(t, err)
		require.NoError(t, cp.CheckInclusion(&rs[i], idx, proof))
	}
}
