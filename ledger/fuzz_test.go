package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"
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
// panic and that a decodable bundle survives an encode/decode round trip
// with the same verification outcome.
func FuzzDecodeBundle(f *testing.F) {
	b, _ := twoNodeBundle(f)
	js, err := b.Encode()
	require.NoError(f, err)
	f.Add(js)
	f.Add(js[:len(js)-1])
	for _, s := range []string{"", "null", `{"version":1,"checkpoints":[],"entries":[]}`, `{"version":1,"checkpoints":null,"entries":[{"index":0,"proof":null}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBundle(data)
		if err != nil {
			return
		}
		rep, verr := VerifyBundle(b)
		enc, err := b.Encode()
		require.NoError(t, err)
		b2, err := DecodeBundle(enc)
		require.NoError(t, err, "encoded bundle must decode: %q", enc)
		require.Equal(t, b, b2)
		rep2, verr2 := VerifyBundle(b2)
		require.Equal(t, verr == nil, verr2 == nil)
		require.Equal(t, len(rep.Bad), len(rep2.Bad))
		require.Equal(t, string(rep.Table.Bytes()), string(rep2.Table.Bytes()))
	})
}
