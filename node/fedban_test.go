package node

import (
	"context"
	"crypto/ed25519"
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
		func(id, _ string) bool { kicked = append(kicked, id); return true })
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
// honour are kept up to maxRelayedBans; honoured ones always.
func TestBanSetBoundsRelayedRecords(t *testing.T) {
	honoured, other := banKey(t), banKey(t)
	set := newBanSet(dssync.MutexWrap(datastore.NewMapDatastore()), banKey(t).Public().(ed25519.PublicKey),
		[]ed25519.PublicKey{honoured.Public().(ed25519.PublicKey)}, nil)
	ctx := context.Background()
	set.relayed = maxRelayedBans - 1 // as if the set were nearly full
	_, err := set.Add(ctx, [][]byte{signBan(t, other, "0123456789abcdef", false, 1)})
	require.NoError(t, err)
	_, err = set.Add(ctx, [][]byte{signBan(t, other, "0123456789abcdef", false, 2)})
	require.ErrorIs(t, err, ErrBanSetFull)
	n, err := set.Add(ctx, [][]byte{signBan(t, honoured, "0123456789abcdef", false, 3)})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, set.IDs(), 2)
}
