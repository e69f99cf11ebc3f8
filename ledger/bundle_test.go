package ledger

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// twoNodeBundle returns a bundle of receipts from nodeA's and nodeB's logs,
// n receipts alternating between the two nodes, built the way nodes would:
// B's bundle imported into A, then exported.
func twoNodeBundle(t testing.TB, n int) (*Bundle, []Receipt) {
	ctx := t.Context()
	sa, sb := openStore(t, memDS(), nodeA), openStore(t, memDS(), nodeB)
	var all []Receipt
	for i := range n {
		node, s := nodeA, sa
		if i%2 == 1 {
			node, s = nodeB, sb
		}
		r := receiptN(t, i, node)
		require.NoError(t, s.Put(ctx, r))
		all = append(all, r)
	}
	fromB, err := sb.Bundle(ctx)
	require.NoError(t, err)
	rep, err := sa.Import(ctx, fromB)
	require.NoError(t, err)
	require.Equal(t, n/2, rep.Receipts)
	b, err := sa.Bundle(ctx)
	require.NoError(t, err)
	require.Len(t, b.Checkpoints, 2)
	require.Len(t, b.Entries, n)
	return b, all
}

func TestBundleRoundTripAndVerify(t *testing.T) {
	b, all := twoNodeBundle(t, 6)
	js, err := b.Encode()
	require.NoError(t, err)
	back, err := DecodeBundle(js)
	require.NoError(t, err)
	require.Equal(t, b, back)

	rep, err := VerifyBundle(back)
	require.NoError(t, err)
	require.True(t, rep.OK())
	require.Equal(t, 6, rep.Entries)
	require.Equal(t, 6, rep.Receipts)
	require.Equal(t, string(Fold(all).Bytes()), string(rep.Table.Bytes()))
	require.Equal(t, Fold(all).Ratings(), rep.Ratings)

	// A verifier without a node key imports the bundle and can pass it on.
	v := openStore(t, memDS(), nil)
	_, err = v.Import(t.Context(), back)
	require.NoError(t, err)
	again, err := v.Bundle(t.Context())
	require.NoError(t, err)
	rep2, err := VerifyBundle(again)
	require.NoError(t, err)
	require.Equal(t, rep.Table.Bytes(), rep2.Table.Bytes())

	// Exporting named receipts.
	one, err := v.Bundle(t.Context(), all[1].ID())
	require.NoError(t, err)
	require.Len(t, one.Entries, 1)
	_, err = v.Bundle(t.Context(), "prop_missing")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestBundleMixedBad(t *testing.T) {
	ctx := t.Context()
	b, all := twoNodeBundle(t, 6)

	// An equivocating node: a second log under nodeA's key holding a
	// different receipt for all[0]'s proposal.
	evil := openStore(t, memDS(), nodeA)
	twin := rspec{id: all[0].ID(), from: carol, to: alice, settled: t0 + 77, node: nodeA}.signed(t)
	require.NoError(t, evil.Put(ctx, twin))
	eb, err := evil.Bundle(ctx)
	require.NoError(t, err)

	// Entry 0 stays good but gets a conflicting twin (entry 7) below.
	// Entry 1: a proof with a flipped bit.
	b.Entries[1].Proof[0][0] ^= 1
	// Entry 2: index pointing at another record.
	b.Entries[2].Index = b.Entries[4].Index
	// Entry 4: receipt tampered after countersigning.
	b.Entries[4].Receipt.Proposal.Terms = "changed"
	// Entry 6: an identical duplicate of entry 3. Entry 7: the twin.
	b.Entries = append(b.Entries, b.Entries[3], eb.Entries[0])
	b.Checkpoints = append(b.Checkpoints, eb.Checkpoints[0])
	// Entry 8: a receipt by a node with no checkpoint in the bundle.
	stray := receiptN(t, 50, nodeKey(102))
	b.Entries = append(b.Entries, BundleEntry{Receipt: stray})
	// A checkpoint whose signature does not verify.
	bad := b.Checkpoints[0]
	bad.Timestamp++
	b.Checkpoints = append(b.Checkpoints, bad)

	rep, err := VerifyBundle(b)
	require.ErrorIs(t, err, ErrBadBundle)
	require.False(t, rep.OK())
	require.Len(t, rep.BadCheckpoints, 1)
	require.Equal(t, 3, rep.BadCheckpoints[0].Checkpoint)
	require.ErrorIs(t, rep.BadCheckpoints[0].Err, ErrBadCheckpoint)

	reasons := map[int]error{}
	for _, be := range rep.Bad {
		reasons[be.Entry] = be.Err
		require.Contains(t, be.Reason, be.ProposalID)
	}
	require.ErrorIs(t, reasons[0], ErrConflict)
	require.ErrorIs(t, reasons[1], ErrBadProof)
	require.ErrorIs(t, reasons[2], ErrBadProof)
	require.ErrorIs(t, reasons[4], ErrBadCountersig)
	require.ErrorIs(t, reasons[7], ErrConflict)
	require.ErrorIs(t, reasons[8], ErrNoProof)
	require.Len(t, rep.Bad, 6)
	require.Equal(t, 1, rep.Duplicates)
	require.Equal(t, 2, rep.Receipts) // entries 3 (twice) and 5
	require.Equal(t, string(Fold([]Receipt{all[3], all[5]}).Bytes()), string(rep.Table.Bytes()))

	// Import stores the good ones and reports the rest.
	v := openStore(t, memDS(), nil)
	_, err = v.Import(ctx, b)
	require.ErrorIs(t, err, ErrBadBundle)
	stored, err := v.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []Receipt{all[3], all[5]}, stored)
}

func TestDecodeBundleRejects(t *testing.T) {
	b, _ := twoNodeBundle(t, 6)
	js, err := b.Encode()
	require.NoError(t, err)
	good := string(js)
	cases := []struct{ name, in, msg string }{
		{"not JSON", "{", "unexpected EOF"},
		{"unknown member", strings.Replace(good, `{"version":1,`, `{"version":1,"x":1,`, 1), `unknown field "x"`},
		{"version 2", strings.Replace(good, `{"version":1,`, `{"version":2,`, 1), "unsupported bundle version 2"},
		{"trailing data", good + " 1", "trailing data"},
		{"bad receipt", strings.Replace(good, `"kind":"complete"`, `"kind":"refund"`, 1), "entry 0"},
		{"unknown entry member", strings.Replace(good, `"index":`, `"idx":0,"index":`, 1), `unknown field "idx"`},
		{"negative index", strings.Replace(good, `"index":0`, `"index":-1`, 1), "entry 0: index -1"},
		{"bad root", strings.Replace(good, `"root":"`, `"root":"!`, 1), "cannot decode hash"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBundle([]byte(tc.in))
			require.ErrorIs(t, err, ErrMalformed)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
	_, err = VerifyBundle(&Bundle{Version: 3})
	require.ErrorIs(t, err, ErrMalformed)
}
