package p2p

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	"github.com/stretchr/testify/require"
)

func TestKeyRoundTrip(t *testing.T) {
	for range 20 {
		pub, _ := newKey(t)
		id, err := PeerIDFromKey(pub)
		require.NoError(t, err)
		require.NotEmpty(t, id)
		got, err := PublicKeyFromPeerID(id)
		require.NoError(t, err)
		require.Equal(t, pub, got)
	}
}

func TestHostIDIsKeyID(t *testing.T) {
	pub, priv := newKey(t)
	cfg := LocalConfig()
	cfg.Key = priv
	h, err := New(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })

	want, err := PeerIDFromKey(pub)
	require.NoError(t, err)
	require.Equal(t, want, h.ID())
	for _, a := range h.Addrs() {
		require.Contains(t, a, "/p2p/"+want)
	}
}

func TestPublicKeyFromPeerIDErrors(t *testing.T) {
	_, secp, err := crypto.GenerateSecp256k1Key(rand.Reader)
	require.NoError(t, err)
	secpID, err := peer.IDFromPublicKey(secp)
	require.NoError(t, err)

	hashed, err := mh.Sum([]byte("a key too long to inline"), mh.SHA2_256, -1)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		id   string
		want error
	}{
		{"garbage", "not-a-peer-id", ErrBadPeerID},
		{"empty", "", ErrBadPeerID},
		{"secp256k1", secpID.String(), ErrNotEd25519},
		{"hashed key", peer.ID(hashed).String(), ErrNotEd25519},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PublicKeyFromPeerID(tc.id)
			require.ErrorIs(t, err, tc.want)
		})
	}

	_, err = PeerIDFromKey(make([]byte, 31))
	require.ErrorIs(t, err, ErrBadKey)
}

// TestAddrsOfWildcardListener: a 0.0.0.0 listener is reported as the
// interface addresses, each dialable and ending in /p2p/<id>.
func TestAddrsOfWildcardListener(t *testing.T) {
	a := newHost(t, func(c *Config) { c.Listen = []string{"/ip4/0.0.0.0/tcp/0"} })
	addrs := a.Addrs()
	require.NotEmpty(t, addrs)
	for _, s := range addrs {
		require.NotContains(t, s, "0.0.0.0")
		require.True(t, strings.HasSuffix(s, "/p2p/"+a.ID()), s)
	}
	b := newHost(t)
	require.NoError(t, b.Connect(t.Context(), addrs[0]))
	require.Contains(t, b.Peers(), a.ID()) // the dialler's side is up when Connect returns
}
