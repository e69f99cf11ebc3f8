package ledger

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A node that learned an origin's receipts one at a time, as replication
// delivers them (each a bundle of one receipt with a checkpoint signed
// right after it), holds one checkpoint of the origin per receipt. Its
// export must still decode and verify: each entry names the checkpoint
// that proves it, so verifying costs one proof check per entry rather than
// one per checkpoint of a longer log (which crossed the proof-check limit
// at about 1,450 receipts, and the checkpoint limit at 4,096).
func TestExportOfReceiptsLearnedOneByOne(t *testing.T) {
	ctx := t.Context()
	origin, relay := openStore(t, memDS(), nodeA), openStore(t, memDS(), nodeB)
	const n = 2000
	for i := range n {
		r := receiptN(t, i, nodeA)
		require.NoError(t, origin.Put(ctx, r))
		one, err := origin.Bundle(ctx, r.ID())
		require.NoError(t, err)
		require.Len(t, one.Checkpoints, 1)
		require.Zero(t, one.Entries[0].CheckpointSize, "a bundle with one checkpoint per node names none")
		_, err = relay.Import(ctx, one)
		require.NoError(t, err)
	}
	b, err := relay.Export(ctx, "", nil)
	require.NoError(t, err)
	require.Len(t, b.Entries, n)
	require.Len(t, b.Checkpoints, n, "one checkpoint per receipt")
	js, err := b.Encode()
	require.NoError(t, err)
	// A guard against a hang, not a timing claim: under -race on a loaded
	// machine the verify alone takes tens of seconds.
	within(t, 5*time.Minute, func() {
		back, err := DecodeBundle(js)
		require.NoError(t, err, "a node's own export decodes")
		rep, err := VerifyBundle(back)
		require.NoError(t, err)
		require.Equal(t, n, rep.Receipts)
		_, err = openStore(t, memDS(), nil).Import(ctx, back)
		require.NoError(t, err, "and imports")
	})
}
