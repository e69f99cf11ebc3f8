package p2p

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

// peerOf returns the peer ID of the node holding key.
func peerOf(t testing.TB, key ed25519.PrivateKey) peer.ID {
	s, err := PeerIDFromKey(key.Public().(ed25519.PublicKey))
	require.NoError(t, err)
	id, err := decodePeer(s)
	require.NoError(t, err)
	return id
}

// FuzzDecodeRouted: any input decodes or fails cleanly, whatever decodes
// encodes back to the same bytes with its payload at the end, and only the
// fields relays may change (hops, budget) can differ in a frame that
// verifies from the one the origin signed.
func FuzzDecodeRouted(f *testing.F) {
	// Fixed keys: each fuzz worker runs this setup again, and the seed
	// frames must be the ones it compares with.
	a := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	b := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	origin, target := peerOf(f, a), peerOf(f, b)
	r := routedRequest{Hops: maxRouteHops, Budget: 3 * time.Second, Origin: origin, Target: target, Proto: "/agentchat/dm/1",
		Time: time.Unix(1700000000, 0).UnixNano(), Payload: []byte(`{"to":"x"}`)}
	r.sign(a)
	good, signed := r.encode(), r.signed()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{routeVersion})
	f.Add([]byte{routeVersion, 3, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRouted(data)
		if err != nil {
			return
		}
		out := r.encode()
		if !bytes.Equal(out, data) {
			t.Fatalf("round trip changed the frame:\n%x\n%x", data, out)
		}
		if !bytes.HasSuffix(data, r.Payload) {
			t.Fatal("the payload is not the frame's tail")
		}
		if r.verify() == nil && !bytes.Equal(r.signed(), signed) {
			t.Fatalf("a changed frame verifies: %x", data)
		}
	})
}

// FuzzDecodeRouteResp: a response body decodes or fails cleanly, and only
// the target's signature over this request's ID passes.
func FuzzDecodeRouteResp(f *testing.F) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)) // fixed, as above
	target := peerOf(f, key)
	id := [16]byte{1, 2, 3}
	f.Add(encodeRouteResp(key, id, statusOK, []byte("ok")))
	f.Add([]byte{statusOK})
	f.Fuzz(func(t *testing.T, data []byte) {
		status, body, err := decodeRouteResp(target, id, data)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeRouteResp(key, id, status, body), data) {
			t.Fatal("verified response does not re-encode to its bytes")
		}
	})
}
