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

// FuzzDecodeRouted: any input decodes or fails cleanly, and whatever
// decodes encodes back to the same bytes and keeps its payload.
func FuzzDecodeRouted(f *testing.F) {
	_, a := newKey(f)
	_, b := newKey(f)
	origin, target := peerOf(f, a), peerOf(f, b)
	r := routedRequest{Hops: maxRouteHops, Origin: origin, Target: target, Proto: "/agentchat/dm/1",
		Time: time.Unix(1700000000, 0).UnixNano(), Payload: []byte(`{"to":"x"}`)}
	r.sign(a)
	good := r.encode()
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
		_ = r.verify()
		if len(data) < len(r.Payload) {
			t.Fatal("payload longer than the frame")
		}
	})
}

// FuzzDecodeRouteResp: a response body decodes or fails cleanly, and only
// the target's signature over this request's ID passes.
func FuzzDecodeRouteResp(f *testing.F) {
	_, key := newKey(f)
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
