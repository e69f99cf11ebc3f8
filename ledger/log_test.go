package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"
)

// memTree recomputes a log's root independently, from the record bytes.
func memTree(t *testing.T, records [][]byte) tlog.Hash {
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = stored[x]
		}
		return out, nil
	})
	for n, rec := range records {
		hs, err := tlog.StoredHashes(int64(n), rec, r)
		require.NoError(t, err)
		stored = append(stored, hs...)
	}
	root, err := tlog.TreeHash(int64(len(records)), r)
	require.NoError(t, err)
	return root
}

func TestLogInclusionProofs(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, memDS(), nodeA)
	const n = 37
	rs := make([]Receipt, n)
	var records [][]byte
	var cp10 Checkpoint
	for i := range rs {
		rs[i] = receiptN(t, i, nodeA)
		require.NoError(t, s.Put(ctx, rs[i]))
		records = append(records, rs[i].CanonicalJSON())
		if i == 9 {
			var err error
			cp10, err = s.Checkpoint(ctx)
			require.NoError(t, err)
		}
	}
	cp, err := s.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(n), cp.Size)
	require.Equal(t, memTree(t, records), cp.Root)
	require.Equal(t, fixedNow().UnixMilli(), cp.Timestamp)
	require.NoError(t, VerifyCheckpoint(&cp))

	for i := range rs {
		idx, proof, err := s.Prove(ctx, rs[i].ID(), &cp)
		require.NoError(t, err)
		require.Equal(t, int64(i), idx)
		require.NoError(t, cp.CheckInclusion(&rs[i], idx, proof))
	}

	// An older checkpoint proves the receipts it covers, and only those.
	idx, proof, err := s.Prove(ctx, rs[5].ID(), &cp10)
	require.NoError(t, err)
	require.NoError(t, cp10.CheckInclusion(&rs[5], idx, proof))
	_, _, err = s.Prove(ctx, rs[20].ID(), &cp10)
	require.ErrorIs(t, err, ErrBadProof)

	idx, proof, err = s.Prove(ctx, rs[7].ID(), &cp)
	require.NoError(t, err)
	tampered := func(f func(p tlog.RecordProof) tlog.RecordProof) tlog.RecordProof {
		return f(append(tlog.RecordProof(nil), proof...))
	}
	cases := []struct {
		name  string
		cp    Checkpoint
		r     *Receipt
		idx   int64
		proof tlog.RecordProof
	}{
		{"flipped proof byte", cp, &rs[7], idx, tampered(func(p tlog.RecordProof) tlog.RecordProof { p[2][5] ^= 1; return p })},
		{"proof hash dropped", cp, &rs[7], idx, tampered(func(p tlog.RecordProof) tlog.RecordProof { return p[1:] })},
		{"proof hash added", cp, &rs[7], idx, tampered(func(p tlog.RecordProof) tlog.RecordProof { return append(p, p[0]) })},
		{"wrong index", cp, &rs[7], idx + 1, proof},
		{"index outside log", cp, &rs[7], n, proof},
		{"negative index", cp, &rs[7], -1, proof},
		{"other receipt", cp, &rs[8], idx, proof},
		// (Sizes 33..64 split record 7's path the same way and give the same
		// root; the checkpoint signature is what pins the size.)
		{"other size", func() Checkpoint { c := cp; c.Size = 20; return c }(), &rs[7], idx, proof},
		{"other root", func() Checkpoint { c := cp; c.Root[0] ^= 1; return c }(), &rs[7], idx, proof},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.cp.CheckInclusion(tc.r, tc.idx, tc.proof), ErrBadProof)
		})
	}

	// A receipt of another node is never proved by this node's checkpoint.
	foreign := receiptN(t, 99, nodeB)
	require.ErrorIs(t, cp.CheckInclusion(&foreign, 0, proof), ErrBadProof)
	_, _, err = s.Prove(ctx, "prop_missing", &cp)
	require.ErrorIs(t, err, ErrNotFound)
	other := SignCheckpoint(nodeB, cp.Size, cp.Root, cp.Timestamp)
	_, _, err = s.Prove(ctx, rs[0].ID(), &other)
	require.ErrorIs(t, err, ErrBadProof)
}

func TestVerifyCheckpoint(t *testing.T) {
	good := SignCheckpoint(nodeA, 5, tlog.RecordHash([]byte("x")), t0)
	require.NoError(t, VerifyCheckpoint(&good))
	cases := []struct {
		name   string
		mutate func(c *Checkpoint)
	}{
		{"size", func(c *Checkpoint) { c.Size++ }},
		{"root", func(c *Checkpoint) { c.Root[31] ^= 0x80 }},
		{"timestamp", func(c *Checkpoint) { c.Timestamp++ }},
		{"node key", func(c *Checkpoint) { c.NodePubkey = SignCheckpoint(nodeB, 5, c.Root, t0).NodePubkey }},
		{"signature", func(c *Checkpoint) { c.Sig = SignCheckpoint(nodeA, 6, c.Root, t0).Sig }},
		{"malformed key", func(c *Checkpoint) { c.NodePubkey = "zz" }},
		{"negative size", func(c *Checkpoint) { c.Size = -1 }},
		{"non-canonical signature", func(c *Checkpoint) { c.Sig = c.Sig[:len(c.Sig)-2] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			require.ErrorIs(t, VerifyCheckpoint(&c), ErrBadCheckpoint)
		})
	}
	require.Equal(t, "AGENTCHAT_CHECKPOINT_V1\n"+good.NodePubkey+"\n5\n"+good.Root.String()+"\n1700000000000\n", string(good.SigningBytes()))
}
