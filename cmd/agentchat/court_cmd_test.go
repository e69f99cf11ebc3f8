package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// cliAgent is an identity file for the CLI's -i.
type cliAgent struct {
	path string
	file *identity.File
}

func newCLIAgent(t *testing.T, name string) cliAgent {
	t.Helper()
	f, err := identity.New(name)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name+".json")
	require.NoError(t, f.Save(path))
	return cliAgent{path: path, file: f}
}

func (a cliAgent) at() string { return "@" + a.file.AgentID }

// cliJSON runs a command and decodes the JSON line it prints.
func cliJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, err := run(t, args...)
	require.NoError(t, err, out)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v), "%s", out)
	return v
}

// online keeps a connected (until a CLI call by the same identity takes
// its session over, or the test ends): a proposal needs its recipient
// online, a panel seat its arbiter.
func online(t *testing.T, url string, a cliAgent) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ag, err := testnet.Dial(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { ag.Close() })
	_, err = ag.Identify(ctx, a.file.Name, a.file.Private())
	require.NoError(t, err)
}

// cliSettle has a propose to b, b accept and, with complete, a complete.
func cliSettle(t *testing.T, url string, a, b cliAgent, complete bool) string {
	t.Helper()
	online(t, url, b)
	p := cliJSON(t, "propose", url, b.at(), "work", "-i", a.path, "--expires", "0")
	id := p["id"].(string)
	cliJSON(t, "accept", url, id, "-i", b.path)
	if complete {
		cliJSON(t, "complete", url, id, "-i", a.path)
	}
	return id
}

// seats returns the arbiters of a case's seats in the given status, from
// agentchat court status.
func seats(t *testing.T, url, dispute, status string) []string {
	t.Helper()
	var out []string
	for _, s := range cliJSON(t, "court", "status", url, dispute)["seats"].([]any) {
		if seat := s.(map[string]any); seat["status"] == status {
			out = append(out, seat["arbiter"].(string))
		}
	}
	return out
}

// A whole case through agentchat court against a node process that is
// killed with SIGKILL after the panel is drawn and started again on its
// data directory: file, reveal, kill, a decline and its replacement,
// accept, evidence, votes, status; the verdict's receipt is exported and
// agentchat receipts verify checks it offline.
func TestCourtCommandsAcrossSIGKILL(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	bin := agentchatBin(t)
	port := freePort(t)
	dir := t.TempDir()
	flags := []string{"--court-min-transactions", "1"}
	proc := startNodeProcess(t, bin, dir, port, flags...)
	defer func() { _ = proc.Process.Signal(syscall.SIGTERM); _ = proc.Wait() }()
	url := fmt.Sprintf("ws://127.0.0.1:%d", port)

	var arbs []cliAgent
	byID := map[string]cliAgent{}
	for _, name := range []string{"arb0", "arb1", "arb2", "arb3"} {
		a := newCLIAgent(t, name)
		arbs, byID[a.at()] = append(arbs, a), a
	}
	cliSettle(t, url, arbs[0], arbs[1], true)
	cliSettle(t, url, arbs[2], arbs[3], true)
	alice, bob := newCLIAgent(t, "alice"), newCLIAgent(t, "bob")
	id := cliSettle(t, url, alice, bob, false)

	filed := cliJSON(t, "court", "file", url, id, "never delivered", "-i", bob.path)
	dispute, nonce := filed["dispute_id"].(string), filed["nonce"].(string)
	require.Equal(t, protocol.Commitment(nonce), filed["commitment"])
	// The arbiters are online when the panel is drawn (an unreachable one
	// would lose its seat at once); each CLI call below takes its session over.
	for _, a := range arbs {
		online(t, url, a)
	}
	revealed := cliJSON(t, "court", "reveal", url, id, nonce, "-i", bob.path)
	require.Equal(t, dispute, revealed["dispute_id"])
	panel := seats(t, url, dispute, "pending")
	require.Len(t, panel, 3)

	require.NoError(t, proc.Process.Signal(syscall.SIGKILL))
	_ = proc.Wait()
	proc = startNodeProcess(t, bin, dir, port, flags...)
	require.Equal(t, panel, seats(t, url, dispute, "pending"), "the case is read back")
	for _, a := range arbs { // their sessions ended with the node
		online(t, url, a)
	}

	cliJSON(t, "court", "decline", url, dispute, "-r", "conflict", "-i", byID[panel[0]].path)
	pending := seats(t, url, dispute, "pending")
	require.Len(t, pending, 3, "a replacement took the declined seat")
	require.NotContains(t, pending, panel[0])
	for _, a := range pending {
		cliJSON(t, "court", "accept", url, dispute, "-i", byID[a].path)
	}
	require.Equal(t, "evidence", cliJSON(t, "court", "status", url, dispute)["phase"])
	cliJSON(t, "court", "evidence", url, dispute, "--item", "message_log:chat:no delivery", "-s", "nothing came", "-i", bob.path)
	cliJSON(t, "court", "evidence", url, dispute, "--item", "commit:fix:abc123", "-s", "it shipped", "-i", alice.path)
	for i, a := range pending {
		verdict := "disputant"
		if i == 2 {
			verdict = "mutual"
		}
		cliJSON(t, "court", "vote", url, dispute, verdict, "-r", "the log", "-i", byID[a].path)
	}
	status := cliJSON(t, "court", "status", url, dispute)
	require.Equal(t, "resolved", status["phase"])
	require.Equal(t, "disputant", status["verdict"])
	_, err := run(t, "court", "vote", url, dispute, "guilty", "-i", byID[pending[0]].path)
	require.ErrorContains(t, err, "INVALID_MSG")

	bundle, err := run(t, "receipts", "export", "--agent", bob.at(), "--node", url)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "bundle.json")
	require.NoError(t, os.WriteFile(path, []byte(bundle), 0o600))
	out, err := run(t, "receipts", "verify", path)
	require.NoError(t, err, out)
	require.Regexp(t, bob.at()+` +1204 +1 +1\n`, out, "the disputant won 4 (§13.7)")
	require.Contains(t, out, "1 receipts verified")
}
