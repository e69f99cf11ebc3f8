package p2p

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAddAddrsMakesPeerDialable(t *testing.T) {
	a, b := newHost(t), newHost(t)
	b.HandleRequest(echo, func(_ context.Context, _ string, req []byte) ([]byte, error) { return req, nil })
	_, err := a.Request(t.Context(), b.ID(), echo, []byte("x"))
	require.ErrorIs(t, err, ErrNoRoute, "no address known and no route")

	other := newHost(t)
	require.ErrorIs(t, a.AddAddrs(b.ID(), other.Addrs()), ErrBadAddr, "an address naming another peer")
	require.ErrorIs(t, a.AddAddrs(b.ID(), []string{"not a multiaddr"}), ErrBadAddr)
	require.ErrorIs(t, a.AddAddrs("bogus", b.Addrs()), ErrBadPeerID)
	require.NoError(t, a.AddAddrs(a.ID(), b.Addrs()), "its own addresses are ignored")

	require.NoError(t, a.AddAddrs(b.ID(), b.Addrs()))
	resp, err := a.Request(t.Context(), b.ID(), echo, []byte("direct"))
	require.NoError(t, err)
	require.Equal(t, "direct", string(resp))
	require.Contains(t, a.Peers(), b.ID())
}
