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
	verdict := verdictReceipt(f, vspec{votes: []string{"declined", VerdictDisputant, "", VerdictRespondent}})
	f.Add(verdict.CanonicalJSON())
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

// FuzzBundleShape searches the declared sizes of a bundle rather than its
// bytes: a log size, an index and a proof length per entry, and how many
// entries and checkpoints, around one real receipt and checkpoints signed
// by its node. Inputs are a few numbers, so the fuzzer explores shapes
// fast (FuzzDecodeBundle's inputs are kilobytes of JSON, which the
// fuzzer's minimizer spends most of its time on). Every shape must be
// refused at decode exactly when it is over a limit of limits.go, and a
// decoded one must verify with every entry bad (the proofs are made up).
// The limits are what bound VerifyBundle's work (entries × checkpoints of
// their node proof checks, each at most maxProofLen hashes); this target
// checks that the decoder enforces them, not how long verifying takes.
func FuzzBundleShape(f *testing.F) {
	r := receiptN(f, 0, nodeA)
	f.Add(int64(1), int64(0), uint8(0), uint8(1), uint8(1))
	f.Add(int64(1<<62+1), int64(0), uint8(1), uint8(1), uint8(1))
	f.Add(int64(MaxLogSize), int64(MaxLogSize-1), uint8(40), uint8(8), uint8(8))
	f.Fuzz(func(t *testing.T, size, index int64, proofLen, entries, checkpoints uint8) {
		entries, checkpoints = entries%9, checkpoints%9
		b := &Bundle{Version: BundleVersion, Checkpoints: []Checkpoint{}, Entries: []BundleEntry{}}
		for i := range int64(checkpoints) {
			b.Checkpoints = append(b.Checkpoints, SignCheckpoint(nodeA, size+i, tlog.Hash{byte(i)}, t0))
		}
		for range entries {
			b.Entries = append(b.Entries, BundleEntry{Receipt: r, Index: index, Proof: make(tlog.RecordProof, proofLen)})
		}
		js, err := b.Encode()
		require.NoError(t, err)
		over := entries > 0 && (index < 0 || index >= MaxLogSize || int(proofLen) > maxProofLen)
		for i := range int64(checkpoints) {
			over = over || size+i < 0 || size+i > MaxLogSize
		}
		d, err := DecodeBundle(js)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			require.True(t, over, "refused a bundle within the limits: %v", err)
			return
		}
		require.False(t, over, "decoded a bundle over the limits")
		rep, _ := VerifyBundle(d)
		require.Len(t, rep.Bad, int(entries))
	})
}
