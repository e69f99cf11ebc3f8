package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"
)

// FuzzDecodeReceipt checks that decoding never panics and that decoding and
// verification agree with the canonical form: a decodable receipt re-encodes
// to JSON that decodes to the same receipt, which verifies exactly when the
// original does.
func FuzzDecodeReceipt(f *testing.F) {
	for _, s := range []rspec{
		{id: "p1", task: "t"},
		{id: "p2", kind: KindDispute, by: &bob, amount: f64(1.5), propStake: i64(10), accStake: i64(3), task: "naïve \u2028 \"q\" <&>"},
	} {
		r := s.signed(f)
		js := r.CanonicalJSON()
		f.Add(js)
		f.Add(js[:len(js)/2])
		mut := append([]byte(nil), js...)
		mut[len(mut)/3] ^= 0x20
		f.Add(mut)
	}
	for _, s := range []string{"", "null", "{}", "[]", `{"version":1}`, `{"version":1,"proposal":{"amount":-0,"expires":1e308}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeReceipt(data)
		if err != nil {
			return
		}
		verr := Verify(&r)
		enc := r.CanonicalJSON()
		r2, err := DecodeReceipt(enc)
		require.NoError(t, err, "canonical form of a decoded receipt must decode: %q", enc)
		require.Equal(t, r, r2)
		require.Equal(t, string(enc), string(r2.CanonicalJSON()))
		verr2 := Verify(&r2)
		require.Equal(t, verr == nil, verr2 == nil, "verify %v vs %v", verr, verr2)
		if verr == nil {
			require.Equal(t, 1, Fold([]Receipt{r, r2}).Receipts())
		}
	})
}

// FuzzDecodeBundle checks that bundle decoding and verification never
// panic or run long, and that a decodable bundle survives an encode/decode
// round trip (verification is a function of the bundle, so the copy would
// verify alike). The seeds are small — two entries by two nodes — since
// each valid execution checks every signature; a bigger seed spends the
// fuzzer's time in signature checks while it minimizes.
func FuzzDecodeBundle(f *testing.F) {
	b, _ := twoNodeBundle(f, 2)
	js, err := b.Encode()
	require.NoError(f, err)
	f.Add(js)
	f.Add(js[:len(js)-1])
	huge := *b
	huge.Checkpoints = []Checkpoint{SignCheckpoint(nodeA, 1<<62+1, tlog.Hash{1}, t0)}
	hj, err := huge.Encode()
	require.NoError(f, err)
	f.Add(hj)
	for _, s := range []string{"", "null", `{"version":1,"checkpoints":[],"entries":[]}`, `{"version":1,"checkpoints":null,"entries":[{"index":0,"proof":null}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBundle(data)
		if err != nil {
			return
		}
		rep, verr := VerifyBundle(b)
		require.Equal(t, verr == nil, rep.OK())
		enc, err := b.Encode()
		require.NoError(t, err)
		b2, err := DecodeBundle(enc)
		require.NoError(t, err, "encoded bundle must decode: %q", enc)
		require.Equal(t, b, b2)
	})
}
