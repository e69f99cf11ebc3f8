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
	require.Empty(t, a.host.Peerstore().Addrs(b.host.ID()))

	// One bad address among good ones: the good ones are kept.
	err = a.AddAddrs(b.ID(), append([]string{"not a multiaddr"}, b.Addrs()...))
	require.ErrorIs(t, err, ErrBadAddr)
	require.ErrorContains(t, err, "1 of 3 addresses")
	resp, err := a.Request(t.Context(), b.ID(), echo, []byte("direct"))
	require.NoError(t, err)
	require.Equal(t, "direct", string(resp))
	require.Contains(t, a.Peers(), b.ID())
}

// TestAddAddrsFiltered: only plain IP addresses are learned, and private
// ones only with AllowPrivateAddrs; a denied peer's none.
func TestAddAddrsFiltered(t *testing.T) {
	b := newHost(t)
	_, key := newKey(t)
	target := peerOf(t, key).String()
	for _, tc := range []struct {
		name    string
		private bool
		addr    string
		kept    bool
	}{
		{"public", false, "/ip4/1.2.3.4/tcp/4001", true},
		{"public v6", false, "/ip6/2001:4860::1/udp/4001/quic-v1", true},
		{"loopback", false, "/ip4/127.0.0.1/tcp/4001", false},
		{"private", false, "/ip4/10.1.2.3/tcp/4001", false},
		{"link-local v6", false, "/ip6/fe80::1/tcp/4001", false},
		{"loopback allowed", true, "/ip4/127.0.0.1/tcp/4001", true},
		{"private allowed", true, "/ip4/192.168.1.2/tcp/4001", true},
		{"dns", true, "/dns4/example.com/tcp/4001", false},
		{"dns public", false, "/dns/example.com/tcp/4001", false},
		{"circuit", true, "/ip4/1.2.3.4/tcp/4001/p2p/" + b.ID() + "/p2p-circuit", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newHost(t, func(c *Config) { c.AllowPrivateAddrs = tc.private })
			err := a.AddAddrs(target, []string{tc.addr})
			got := a.host.Peerstore().Addrs(peerOf(t, key))
			if tc.kept {
				require.NoError(t, err)
				require.Len(t, got, 1)
				return
			}
			require.ErrorIs(t, err, ErrBadAddr)
			require.Empty(t, got)
		})
	}

	denied := newHost(t, func(c *Config) { c.Deny = func(p string) bool { return p == target } })
	require.NoError(t, denied.AddAddrs(target, []string{"/ip4/1.2.3.4/tcp/4001"}))
	require.Empty(t, denied.host.Peerstore().Addrs(peerOf(t, key)), "a denied peer is never dialled")
}
