package mcp_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/mcp"
	"github.com/agentchat/mesh/agent/transfer"
)

// TestFileTools sends files from a raw client with agent/transfer and
// receives them with agentchat_file_list_offers and agentchat_file_receive.
func TestFileTools(t *testing.T) {
	n := startNode(t, noLimits)
	cs := startServer(t, mcp.Config{URL: n.URL})
	self := callOK(t, cs, "agentchat_connect", map[string]any{"name": "receiver"})["agent_id"].(string)
	sender := dial(t, n, client.Options{Name: "sender", Identity: newIdentity(t, "sender")})

	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "notes.txt"), []byte("hello, files\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "blob.bin"), []byte{0, 1, 2, 255}, 0o600))
	sent := make(chan error, 1)
	go func() {
		_, err := transfer.Send(ctxT(t), sender, self, []string{filepath.Join(src, "notes.txt"), filepath.Join(src, "blob.bin")})
		sent <- err
	}()

	var offers []any
	require.Eventually(t, func() bool {
		offers = callOK(t, cs, "agentchat_file_list_offers", nil)["offers"].([]any)
		return len(offers) == 1
	}, waitTimeout, 20*time.Millisecond)
	offer := offers[0].(map[string]any)
	require.Equal(t, sender.AgentID(), offer["from"])
	require.Len(t, offer["files"], 2)
	tid := offer["transfer_id"].(string)

	require.Contains(t, callErr(t, cs, "agentchat_file_receive", map[string]any{"transfer_id": "nope"}), "no pending offer")
	require.Contains(t, callErr(t, cs, "agentchat_file_receive", map[string]any{"transfer_id": tid, "save_directory": "../up"}), "..")

	dst := filepath.Join(t.TempDir(), "in")
	out := callOK(t, cs, "agentchat_file_receive", map[string]any{"transfer_id": tid, "save_directory": dst})
	require.Equal(t, true, out["success"])
	require.Equal(t, true, out["hash_match"])
	require.Len(t, out["files"], 2)
	got, err := os.ReadFile(filepath.Join(dst, "notes.txt"))
	require.NoError(t, err)
	require.Equal(t, "hello, files\n", string(got))
	got, err = os.ReadFile(filepath.Join(dst, "blob.bin"))
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 2, 255}, got)
	select {
	case err := <-sent:
		require.NoError(t, err, "the sender got the receiver's ack")
	case <-time.After(waitTimeout):
		t.Fatal("transfer.Send did not return")
	}
	require.Equal(t, float64(0), callOK(t, cs, "agentchat_file_list_offers", nil)["count"])
}

func TestDaemonInboxTool(t *testing.T) {
	home := t.TempDir()
	cs := startServer(t, mcp.Config{Home: home})
	require.Contains(t, callErr(t, cs, "agentchat_inbox", nil), "no daemon inbox")

	dir := filepath.Join(home, ".agentchat", "daemons", "work")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	lines := `{"type":"MSG","from":"@a","to":"#general","content":"one"}
{"type":"MSG","from":"@a","to":"#general","content":"two"}
not json
{"type":"AGENT_JOINED","agent":"@b","channel":"#general"}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "inbox.jsonl"), []byte(lines), 0o600))
	out := callOK(t, cs, "agentchat_inbox", map[string]any{"instance": "work", "lines": 2})
	require.Equal(t, float64(4), out["total_lines"])
	require.Equal(t, float64(2), out["returned_lines"])
	msgs := out["messages"].([]any)
	require.Equal(t, "two", msgs[0].(map[string]any)["content"], "newest lines, oldest first; invalid lines skipped")
	require.Equal(t, "AGENT_JOINED", msgs[1].(map[string]any)["type"])
}
