package node

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

func banKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := identity.GenerateKey()
	require.NoError(t, err)
	return priv
}

func signBan(t *testing.T, priv ed25519.PrivateKey, agent string, lift bool, ms int64) []byte {
	t.Helper()
	b, err := identity.SignBan(priv, agent, "r", lift, time.UnixMilli(ms))
	require.NoError(t, err)
	return b.Encode()
}

// TestBanSetNewestDecides: per operator and agent the newest record
// decides, whatever order records arrive in; an operator not honoured
// never bans; a kick follows a new honoured ban.
func TestBanSetNewestDecides(t *testing.T) {
	own, honoured, other := banKey(t), banKey(t), banKey(t)
	var kicked []string
	set := newBanSet(dssync.MutexWrap(datastore.NewMapDatastore()), own.Public().(ed25519.PublicKey),
		[]ed25519.PublicKey{honoured.Public().(ed25519.PublicKey)},
		func(id, _ string) bool { kicked = append(kicked, id); return true }, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	const agent = "0123456789abcdef"

	n, err := set.Add(ctx, [][]byte{signBan(t, other, agent, false, 10)})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	banned, _ := set.banned(agent)
	require.False(t, banned, "an operator not honoured bans nothing")

	// The lift (newer) arrives before the ban (older): still lifted.
	n, err = set.Add(ctx, [][]byte{signBan(t, honoured, agent, true, 20), signBan(t, honoured, agent, false, 15)})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	banned, _ = set.banned(agent)
	require.False(t, banned)
	n, err = set.Add(ctx, [][]byte{signBan(t, own, agent, false, 30)})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	banned, reason := set.banned(agent)
	require.True(t, banned, "a node honours its own key")
	require.Equal(t, "r", reason)
	require.Equal(t, []string{agent}, kicked, "one kick: the older ban arrived after its lift")
}

// TestBanSetBoundsRelayedRecords: records of operators the node does not
// honour are kept up to maxRelayedBans, and one that does not fit is
// skipped without holding back the honoured records of its batch; records
// of honoured operators are always kept.
func TestBanSetBoundsRelayedRecords(t *testing.T) {
	honoured, other := banKey(t), banKey(t)
	set := newBanSet(dssync.MutexWrap(datastore.NewMapDatastore()), banKey(t).Public().(ed25519.PublicKey),
		[]ed25519.PublicKey{honoured.Public().(ed25519.PublicKey)}, nil, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	const agent = "0123456789abcdef"
	set.relayed = maxRelayedBans - 1 // as if the set were nearly full
	n, err := set.Add(ctx, [][]byte{signBan(t, other, agent, false, 1)})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = set.Add(ctx, [][]byte{signBan(t, other, agent, false, 2), signBan(t, honoured, agent, false, 3)})
	require.NoError(t, err, "a full relay is not an error for the batch")
	require.Equal(t, 1, n, "the honoured record of the batch is kept")
	banned, _ := set.banned(agent)
	require.True(t, banned)
	require.Len(t, set.IDs(), 2)
	rec, err := identity.DecodeBan(signBan(t, other, agent, false, 4))
	require.NoError(t, err)
	_, err = set.add(ctx, rec)
	require.ErrorIs(t, err, ErrBanSetFull, "POST /bans still reports it")
}

// TestBanSetBoundHoldsUnderConcurrentAdds: adds racing for the last relay
// slot keep exactly one.
func TestBanSetBoundHoldsUnderConcurrentAdds(t *testing.T) {
	other := banKey(t)
	set := newBanSet(dssync.MutexWrap(datastore.NewMapDatastore()), banKey(t).Public().(ed25519.PublicKey),
		nil, nil, slog.New(slog.DiscardHandler))
	set.relayed = maxRelayedBans - 1
	var wg sync.WaitGroup
	for i := range 8 {
		raw := signBan(t, other, "0123456789abcdef", false, int64(i+1))
		wg.Go(func() { _, _ = set.Add(context.Background(), [][]byte{raw}) })
	}
	wg.Wait()
	require.Len(t, set.IDs(), 1)
	require.Equal(t, maxRelayedBans, set.relayed)
}

// TestBannedReasonIsDeterministic: with several honoured operators banning
// one agent, the reason given is always the same one.
func TestBannedReasonIsDeterministic(t *testing.T) {
	var keys []ed25519.PrivateKey
	var pubs []ed25519.PublicKey
	for range 6 {
		k := banKey(t)
		keys, pubs = append(keys, k), append(pubs, k.Public().(ed25519.PublicKey))
	}
	set := newBanSet(dssync.MutexWrap(datastore.NewMapDatastore()), banKey(t).Public().(ed25519.PublicKey),
		pubs, nil, slog.New(slog.DiscardHandler))
	const agent = "0123456789abcdef"
	want := ""
	for i, k := range keys {
		b, err := identity.SignBan(k, agent, "reason "+hex.EncodeToString(pubs[i]), false, time.UnixMilli(5))
		require.NoError(t, err)
		_, err = set.Add(context.Background(), [][]byte{b.Encode()})
		require.NoError(t, err)
		if want == "" || b.Reason < want {
			want = b.Reason
		}
	}
	for range 20 {
		_, reason := set.banned(agent)
		require.Equal(t, want, reason)
	}
}

// TestBanSetSetHonoured: honouring an operator at run time enforces the
// bans already held (the agent online is kicked) and counts its records
// out of the relay bound; dropping it lifts them, and the node's own key
// stays honoured.
func TestBanSetSetHonoured(t *testing.T) {
	own, op := banKey(t), banKey(t)
	var kicked []string
	set := newBanSet(dssync.MutexWrap(datastore.NewMapDatastore()), own.Public().(ed25519.PublicKey), nil,
		func(id, _ string) bool { kicked = append(kicked, id); return true }, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	const agent, mine = "0123456789abcdef", "fedcba9876543210"
	n, err := set.Add(ctx, [][]byte{signBan(t, op, agent, false, 10), signBan(t, own, mine, false, 10)})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 1, set.relayed)
	require.Equal(t, []string{mine}, kicked)
	kicked = nil
	banned, _ := set.banned(agent)
	require.False(t, banned)

	opKey := op.Public().(ed25519.PublicKey)
	require.True(t, set.SetHonoured([]ed25519.PublicKey{opKey}))
	require.False(t, set.SetHonoured([]ed25519.PublicKey{opKey}), "the same set is no change")
	banned, reason := set.banned(agent)
	require.True(t, banned, "a newly honoured operator's ban held already applies")
	require.Equal(t, "r", reason)
	require.Equal(t, []string{agent}, kicked, "the agent banned by it is kicked; the one banned before is not kicked again")
	require.Equal(t, 0, set.relayed)
	require.True(t, set.honours(hex.EncodeToString(opKey)))

	require.True(t, set.SetHonoured(nil))
	banned, _ = set.banned(agent)
	require.False(t, banned, "an operator no longer honoured bans nothing")
	banned, _ = set.banned(mine)
	require.True(t, banned, "the node's own key stays honoured")
	require.Equal(t, 1, set.relayed)
	require.Equal(t, []string{agent}, kicked)
}
