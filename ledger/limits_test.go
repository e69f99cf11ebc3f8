package ledger

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentchat/mesh/identity"
)

// within runs f and fails the test if it takes longer than d: the bundle
// shapes below used to take seconds, or never end.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v", d)
	}
}

// TestHugeLogSizeIsRefused pins issue 18.4's worst shape: a checkpoint,
// validly signed by the (untrusted) node that made it, declaring a log of
// more than 2^62 records. tlog's proof walk never ends for such a tree, so
// VerifyBundle spun forever. Decoding refuses it, and so do VerifyBundle
// and VerifyCheckpoint for a bundle built in memory.
func TestHugeLogSizeIsRefused(t *testing.T) {
	r := receiptN(t, 0, nodeA)
	cp := SignCheckpoint(nodeA, 1<<62+1, tlog.Hash{1}, t0)
	b := &Bundle{Version: BundleVersion, Checkpoints: []Checkpoint{cp},
		Entries: []BundleEntry{{Receipt: r, Index: 0, Proof: tlog.RecordProof{{2}}}}}
	js, err := b.Encode()
	require.NoError(t, err)
	within(t, 5*time.Second, func() {
		_, err := DecodeBundle(js)
		require.ErrorIs(t, err, ErrMalformed)
		require.Contains(t, err.Error(), "checkpoint 0 declares a log of 4611686018427387905 records")
		_, err = VerifyBundle(b)
		require.ErrorIs(t, err, ErrMalformed)
		require.ErrorIs(t, VerifyCheckpoint(&cp), ErrBadCheckpoint)
		require.ErrorIs(t, cp.CheckInclusion(&r, 0, b.Entries[0].Proof), ErrBadProof)
		_, err = openStore(t, memDS(), nodeB).Import(t.Context(), b)
		require.ErrorIs(t, err, ErrMalformed)
	})
}

// TestBundleOverTheLimitsIsRefusedQuickly: entries × checkpoints of their
// node is the verifier's proof work. 4096 checkpoints of one node and 300
// copies of a receipt would be 1.2 million proof runs; the bundle is
// refused before any signature is checked. Counts over the limits are
// refused by counting.
func TestBundleOverTheLimitsIsRefusedQuickly(t *testing.T) {
	r := receiptN(t, 0, nodeA)
	b := &Bundle{Version: BundleVersion}
	for i := range 4096 { // 300 entries × 4096 checkpoints > MaxProofChecks
		b.Checkpoints = append(b.Checkpoints, SignCheckpoint(nodeA, int64(i+2), tlog.Hash{byte(i)}, t0))
	}
	for range 300 {
		b.Entries = append(b.Entries, BundleEntry{Receipt: r, Index: 0, Proof: tlog.RecordProof{{1}}})
	}
	js, err := b.Encode()
	require.NoError(t, err)
	within(t, 5*time.Second, func() {
		_, err := DecodeBundle(js)
		require.ErrorIs(t, err, ErrMalformed)
		require.Contains(t, err.Error(), "proof checks")
		_, err = VerifyBundle(b)
		require.ErrorIs(t, err, ErrMalformed)
	})

	within(t, 5*time.Second, func() {
		many := `{"version":1,"checkpoints":[],"entries":[` + strings.Repeat(`{},`, MaxBundleEntries) + `{}]}`
		_, err := DecodeBundle([]byte(many))
		require.ErrorIs(t, err, ErrMalformed)
		require.Contains(t, err.Error(), "more than the limit of 131072")

		over := &Bundle{Version: BundleVersion, Checkpoints: slices.Repeat(b.Checkpoints[:1], MaxBundleCheckpoints+1)}
		_, err = VerifyBundle(over)
		require.ErrorIs(t, err, ErrMalformed)
		require.Contains(t, err.Error(), "131073 checkpoints")
	})

	// Entries that name their checkpoint cost one proof check each.
	named := &Bundle{Version: BundleVersion, Checkpoints: b.Checkpoints, Entries: slices.Clone(b.Entries)}
	for i := range named.Entries {
		named.Entries[i].CheckpointSize = 2
	}
	require.NoError(t, named.bounds())
	named.Entries[0].Index, named.Entries[0].CheckpointSize = 5, 5 // a log of 5 cannot hold index 5
	require.ErrorIs(t, named.bounds(), ErrMalformed)

	// A proof longer than any log within the limit is refused at decode.
	b = &Bundle{Version: BundleVersion, Checkpoints: []Checkpoint{}, Entries: []BundleEntry{
		{Receipt: r, Index: 0, Proof: make(tlog.RecordProof, maxProofLen+1)}}}
	js, err = b.Encode()
	require.NoError(t, err)
	_, err = DecodeBundle(js)
	require.ErrorIs(t, err, ErrMalformed)
}

// TestTooManyIdentityRecordsAreRefused: each identity record, and each
// rotation a revocation carries, is a signature to check; a bundle over
// MaxBundleIdentityKeys of them is refused before any is checked.
func TestTooManyIdentityRecordsAreRefused(t *testing.T) {
	rev := &identity.Revocation{Rotations: make([]identity.Rotation, MaxBundleIdentityKeys)}
	b := &Bundle{Version: BundleVersion, Identities: []IdentityRecord{{Revocation: rev}}}
	within(t, 5*time.Second, func() {
		_, err := VerifyBundle(b)
		require.ErrorIs(t, err, ErrMalformed)
		require.Contains(t, err.Error(), "4097 identity records and chained rotations")
	})
}
