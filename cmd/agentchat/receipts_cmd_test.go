package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/testnet"
)

// dialKeyed connects an agent with a fresh key to the node at wsURL,
// closed when the test ends.
func dialKeyed(ctx context.Context, t *testing.T, wsURL, name string) (*testnet.Agent, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := identity.GenerateKey()
	require.NoError(t, err)
	a, err := testnet.Dial(ctx, wsURL)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	_, err = a.Identify(ctx, name, priv)
	require.NoError(t, err)
	return a, priv
}

// settleOne runs one proposal to completion on n and returns the parties.
func settleOne(t *testing.T, wsURL string) (string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	from, to, err := testnet.Settle(ctx, wsURL, "alice", "bob")
	require.NoError(t, err)
	return from, to
}

func run(t *testing.T, args ...string) (string, error) {
	var out bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {} // keep the test process alive
	err := app.RunContext(context.Background(), append([]string{"agentchat"}, args...))
	return out.String(), err
}

func TestReceiptsExportVerifyImport(t *testing.T) {
	cfg := testnet.LocalNodeConfig(t.TempDir())
	cfg.Market.MinAge = 0
	n, err := testnet.StartNode(context.Background(), cfg)
	require.NoError(t, err)
	defer n.Close()
	alice, _ := settleOne(t, n.WS())

	bundle, err := run(t, "receipts", "export", "--agent", "@"+alice, "--node", n.WS())
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "bundle.json")
	require.NoError(t, os.WriteFile(path, []byte(bundle), 0o600))

	out, err := run(t, "receipts", "verify", path)
	require.NoError(t, err, out)
	require.Contains(t, out, "AGENT              RATING  TRANSACTIONS  SETTLED")
	require.Regexp(t, "@"+alice+` +1208 +1 +1\n`, out)
	require.NotContains(t, out, "changed no rating")
	require.Contains(t, out, "1 receipts verified")

	// Flip one character of the proposer's signed task: verify names it.
	tampered := strings.Replace(bundle, `"task":"t"`, `"task":"u"`, 1)
	require.NotEqual(t, bundle, tampered)
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(tampered), 0o600))
	out, err = run(t, "receipts", "verify", bad)
	require.Error(t, err)
	require.Contains(t, out, "BAD receipt prop_")

	// Issue 11.8: import of a bundle with a bad receipt exits non-zero and
	// names it, into a running node and into a stopped node's data dir.
	out, err = run(t, "receipts", "import", bad, "--node", n.WS())
	require.Error(t, err, out)
	require.Contains(t, err.Error(), "1 bad receipt(s)")
	require.Contains(t, out, "BAD receipt prop_")
	out, err = run(t, "receipts", "import", bad, "--data-dir", t.TempDir())
	require.Error(t, err, out)
	require.Contains(t, err.Error(), "1 bad receipt(s)")
	require.Contains(t, out, "BAD receipt prop_")

	// Issue 18.4: a bundle declaring a log of over 2^62 records is refused
	// at decode, before any signature, by a node and by verify.
	huge := regexp.MustCompile(`"size":\d+`).ReplaceAllString(bundle, `"size":4611686018427387905`)
	require.NotEqual(t, bundle, huge)
	hugePath := filepath.Join(t.TempDir(), "huge.json")
	require.NoError(t, os.WriteFile(hugePath, []byte(huge), 0o600))
	_, err = run(t, "receipts", "import", hugePath, "--node", n.WS())
	require.ErrorContains(t, err, "400 Bad Request")
	require.ErrorContains(t, err, "declares a log of 4611686018427387905 records")
	_, err = run(t, "receipts", "verify", hugePath)
	require.ErrorContains(t, err, "declares a log of 4611686018427387905 records")

	// A node outside the mesh learns the receipt from the bundle.
	other := t.TempDir()
	out, err = run(t, "receipts", "import", path, "--data-dir", other)
	require.NoError(t, err, out)
	again, err := run(t, "receipts", "export", "--data-dir", other)
	require.NoError(t, err)
	require.Contains(t, again, alice)
}

// TestPrintReportShowsSettled pins issue 18.2 in the CLI: the table has
// TRANSACTIONS (rated) and SETTLED (all receipts) and says why they differ.
func TestPrintReportShowsSettled(t *testing.T) {
	const alice = "0123456789abcdef"
	// Completions within the pair cooldown: the report says so.
	var buf bytes.Buffer
	printReport(&buf, ledger.Report{Entries: 4, Receipts: 4, Unrated: 3,
		UnratedBy: map[string]int{ledger.UnratedCooldown: 2, ledger.UnratedSameAgent: 1}, Ratings: []ledger.AgentRating{
			{Agent: "@" + alice, Rating: ledger.Rating{Rating: 1208, Transactions: 1, Settled: 4}}}})
	require.Regexp(t, "@"+alice+` +1208 +1 +4\n`, buf.String())
	require.Contains(t, buf.String(), "3 receipts changed no rating")
	require.Contains(t, buf.String(), "\n  2 pair_cooldown: completions within an hour of the pair's last rated one")
	require.Contains(t, buf.String(), "\n  1 same_agent: both parties are one agent")
	require.NotContains(t, buf.String(), "revoked_key", "a reason without receipts is not listed")
}
