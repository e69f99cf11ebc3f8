package p2p

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// peerEvents records OnPeer notifications.
type peerEvents struct {
	mu  sync.Mutex
	evs []string
}

func (e *peerEvents) add(p string, up bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if up {
		e.evs = append(e.evs, "+"+p)
	} else {
		e.evs = append(e.evs, "-"+p)
	}
}

func (e *peerEvents) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

// TestReconnect: C keeps its configured peer A connected; when A drops the
// connection, C redials within a few seconds.
func TestReconnect(t *testing.T) {
	a := newHost(t)
	c := newHost(t, func(cfg *Config) { cfg.Peers = []string{a.Addrs()[0]} })
	var evs peerEvents
	c.OnPeer(evs.add)
	runHost(t, c)

	require.Eventually(t, func() bool {
		// Both sides: A can only drop a connection it has registered.
		return slices.Contains(c.Peers(), a.ID()) && slices.Contains(a.Peers(), c.ID())
	}, 5*time.Second, 10*time.Millisecond, "C never dialled its configured peer")
	require.Equal(t, []string{"+" + a.ID()}, evs.list())

	c.mu.Lock()
	require.Len(t, c.kept, 1)
	c.mu.Unlock()

	cid, err := decodePeer(c.ID())
	require.NoError(t, err)
	require.NoError(t, a.host.Network().ClosePeer(cid))

	require.Eventually(t, func() bool {
		return slices.Equal(evs.list(), []string{"+" + a.ID(), "-" + a.ID(), "+" + a.ID()}) &&
			slices.Contains(c.Peers(), a.ID())
	}, 5*time.Second, 10*time.Millisecond, "C never reconnected: %v", evs.list())
}

// TestAddPeerWhileRunning: a peer added while Run runs is dialled and kept.
func TestAddPeerWhileRunning(t *testing.T) {
	a := newHost(t)
	b := newHost(t)
	runHost(t, b)
	require.ErrorIs(t, b.AddPeer("/ip4/127.0.0.1/tcp/1"), ErrBadAddr)
	require.NoError(t, b.AddPeer(a.Addrs()[0]))
	require.NoError(t, b.AddPeer(a.Addrs()[0])) // again: no second keeper
	waitPeer(t, b, a.ID(), true)
	waitPeer(t, a, b.ID(), true)
	require.Equal(t, 1, b.Stats().Peers)
}

// TestRemovePeer: a removed peer's keeper has ended when RemovePeer
// returns and the peer is no longer protected; adding it again keeps it
// again.
func TestRemovePeer(t *testing.T) {
	a := newHost(t)
	b := newHost(t)
	runHost(t, b)
	require.NoError(t, b.AddPeer(a.Addrs()[0]))
	waitPeer(t, b, a.ID(), true)
	waitPeer(t, a, b.ID(), true) // both sides, so that a's ClosePeer below closes it
	aid, err := decodePeer(a.ID())
	require.NoError(t, err)
	b.mu.Lock()
	k := b.kept[aid]
	b.mu.Unlock()
	require.NotNil(t, k)
	require.True(t, b.host.ConnManager().IsProtected(aid, keepTag))

	require.NoError(t, b.RemovePeer(a.Addrs()[0]))
	select {
	case <-k.done:
	default:
		t.Fatal("the keeper loop still runs after RemovePeer")
	}
	b.mu.Lock()
	require.Empty(t, b.kept)
	b.mu.Unlock()
	require.False(t, b.host.ConnManager().IsProtected(aid, keepTag))
	require.NoError(t, b.RemovePeer(a.Addrs()[0]), "removing a peer not kept does nothing")
	require.ErrorIs(t, b.RemovePeer("/ip4/127.0.0.1/tcp/1"), ErrBadAddr)

	bid, err := decodePeer(b.ID())
	require.NoError(t, err)
	require.NoError(t, a.host.Network().ClosePeer(bid))
	waitPeer(t, b, a.ID(), false)
	require.NoError(t, b.AddPeer(a.Addrs()[0]))
	waitPeer(t, b, a.ID(), true) // a peer added again is dialled again
}

// waitPeer waits until h is (want) or is not connected to peer id.
func waitPeer(t *testing.T, h *Host, id string, want bool) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Contains(h.Peers(), id) == want },
		10*time.Second, 10*time.Millisecond, "%s connected to %s: want %v", h.ID(), id, want)
}

// TestDHTRendezvous: B and C know only A; through the DHT rendezvous they
// find and connect to each other.
func TestDHTRendezvous(t *testing.T) {
	withDHT := func(c *Config) { c.DHT = true }
	a := newHost(t, withDHT)
	peers := func(c *Config) { c.Peers = []string{a.Addrs()[0]} }
	b := newHost(t, withDHT, peers)
	c := newHost(t, withDHT, peers)
	runHost(t, a)
	runHost(t, b)
	runHost(t, c)
	require.Eventually(t, func() bool { return slices.Contains(b.Peers(), c.ID()) },
		20*time.Second, 50*time.Millisecond, "B never found C: B has %v", b.Peers())
}
