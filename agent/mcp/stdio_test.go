package mcp_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
)

// TestStdioBinary drives the real `agentchat mcp` binary over stdio, as
// Claude Code does with the configuration
// {"mcpServers":{"agentchat":{"command":"agentchat","args":["mcp"],"env":{"AGENTCHAT_URL":…}}}}:
// initialize, tools/list, agentchat_connect to a real node, agentchat_send
// seen by a raw client, and agentchat_listen woken by the raw client's
// messages.
func TestStdioBinary(t *testing.T) {
	bin := agentchatBinary(t)
	n := startNode(t, noLimits)
	home := t.TempDir()

	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr.log"))
	require.NoError(t, err)
	defer stderr.Close()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(stderr.Name())
			t.Logf("agentchat mcp stderr:\n%s", b)
		}
	})
	cmd := exec.Command(bin, "--log-level", "debug", "mcp")
	cmd.Env = append(os.Environ(), "HOME="+home, "AGENTCHAT_URL="+n.URL, "AGENTCHAT_PUBLIC=", "AGENTCHAT_SETTLE_MS=100")
	cmd.Stderr = stderr // a file: exec starts no copying goroutine

	ctx := ctxT(t)
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test-host", Version: "0"}, nil).
		Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	closed := false
	defer func() {
		if !closed {
			_ = cs.Close()
		}
	}()
	init := cs.InitializeResult()
	require.Equal(t, "agentchat", init.ServerInfo.Name)
	require.NotNil(t, init.Capabilities.Tools)

	// tools/list
	tools, err := cs.ListTools(ctx, nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	for _, want := range allTools {
		require.Contains(t, names, want)
	}
	for _, got := range names {
		require.True(t, slices.Contains(allTools, got) || got == "agentchat_create_channel", "unexpected tool %s", got)
	}

	// agentchat_connect with a name creates a persistent identity in
	// ~/.agentchat/identities.
	out := callOK(t, cs, "agentchat_connect", map[string]any{"name": "stdio-agent"})
	require.Equal(t, true, out["success"])
	require.Equal(t, true, out["persistent"])
	idPath := filepath.Join(home, ".agentchat", "identities", "stdio-agent.json")
	require.Equal(t, idPath, out["identity_path"])
	require.FileExists(t, idPath)
	self, _ := out["agent_id"].(string)
	require.Regexp(t, `^@[0-9a-f]{16}$`, self)
	require.Equal(t, []any{"#general", "#discovery"}, out["channels"], "#bounties does not exist on this node and is skipped")

	raw := dial(t, n, client.Options{Name: "raw", Identity: newIdentity(t, "raw"), Channels: []string{"#general"}})

	// agentchat_send reaches the raw client.
	out = callOK(t, cs, "agentchat_send", map[string]any{"target": "#general", "message": "hello from mcp"})
	require.Equal(t, map[string]any{"success": true, "target": "#general", "message": "hello from mcp", "from": self}, out)
	got := nextEvent(t, raw, func(m *protocol.MsgFrame) bool { return m.From == self })
	require.Equal(t, "hello from mcp", got.Content)
	require.Equal(t, "#general", got.To)

	// agentchat_listen blocks (presence "listening") until the raw client
	// writes, then returns its messages after the settle window.
	listened := goListen(cs, map[string]any{"channels": []string{"#general"}, "max_wait_s": 8})
	nextEvent(t, raw, func(p *protocol.PresenceChanged) bool {
		return p.AgentID == self && p.Presence == protocol.PresenceListening
	})
	require.NoError(t, raw.Send(ctx, "#general", "hello from raw"))
	require.NoError(t, raw.Send(ctx, self, "a direct message"))
	res := waitListen(t, listened)
	require.Equal(t, true, res["settled"], "listen result: %v", res)
	msgs := messages(t, res)
	var contents []string
	for _, m := range msgs {
		require.Equal(t, raw.AgentID(), m["from"], "only the raw client's messages: %v", msgs)
		contents = append(contents, m["content"].(string))
	}
	require.Equal(t, []string{"hello from raw", "a direct message"}, contents)
	require.Equal(t, "#general", msgs[0]["to"])
	require.Equal(t, self, msgs[1]["to"])
	nextEvent(t, raw, func(p *protocol.PresenceChanged) bool {
		return p.AgentID == self && p.Presence == protocol.PresenceOnline
	})

	// Closing stdin ends the process cleanly (exit status 0).
	closed = true
	require.NoError(t, cs.Close())
	require.True(t, cmd.ProcessState.Success(), "exit status %v", cmd.ProcessState)
}

// TestStdioRefusesRemoteNode checks the §22 guard: a non-loopback
// AGENTCHAT_URL without AGENTCHAT_PUBLIC=true makes `agentchat mcp` exit
// with an error before it serves anything.
func TestStdioRefusesRemoteNode(t *testing.T) {
	bin := agentchatBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "mcp")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "AGENTCHAT_URL=wss://agentchat.example.com", "AGENTCHAT_PUBLIC=")
	cmd.Stdin = nil
	out, err := cmd.Output()
	require.Error(t, err)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Contains(t, string(ee.Stderr), "AGENTCHAT_PUBLIC=true")
	require.Empty(t, out, "nothing on stdout, which belongs to the protocol")
}
