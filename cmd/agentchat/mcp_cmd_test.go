package main

import (
	"context"
	"io"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMCPCommand runs `agentchat mcp` in process on pipes standing in for
// stdin and stdout: an MCP client initializes, lists the tools, and ends
// the session by closing stdin, which ends the command without error.
func TestMCPCommand(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AGENTCHAT_URL", "ws://127.0.0.1:1") // nothing is dialed before agentchat_connect
	t.Setenv("AGENTCHAT_PUBLIC", "")

	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	app := newApp()
	app.Reader, app.Writer = stdinR, stdoutW
	var stderr syncBuffer
	app.ErrWriter = &stderr
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(context.Background(), []string{"agentchat", "--log-level", "error", "mcp"})
		_ = stdoutW.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test-host", Version: "0"}, nil).
		Connect(ctx, &sdk.IOTransport{Reader: stdoutR, Writer: stdinW}, nil)
	require.NoError(t, err)
	require.Equal(t, "agentchat", cs.InitializeResult().ServerInfo.Name)
	require.Equal(t, version, cs.InitializeResult().ServerInfo.Version)
	tools, err := cs.ListTools(ctx, nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	require.Contains(t, names, "agentchat_connect")
	require.Contains(t, names, "agentchat_listen")

	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "agentchat_send", Arguments: map[string]any{"target": "#general", "message": "hi"}})
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.Equal(t, "Not connected. Use agentchat_connect first.", res.Content[0].(*sdk.TextContent).Text)

	require.NoError(t, cs.Close())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("agentchat mcp did not end when its stdin closed")
	}
}

// TestMCPCommandRefusesRemoteNode pins PROTOCOL.md §22: a non-loopback
// AGENTCHAT_URL needs AGENTCHAT_PUBLIC=true.
func TestMCPCommandRefusesRemoteNode(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AGENTCHAT_URL", "wss://agentchat.example.com")
	t.Setenv("AGENTCHAT_PUBLIC", "")
	app := newApp()
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var out syncBuffer
	app.Reader, app.Writer = stdinR, &out
	err := app.RunContext(context.Background(), []string{"agentchat", "mcp"})
	require.ErrorContains(t, err, "AGENTCHAT_PUBLIC=true")
	require.Empty(t, out.String(), "stdout belongs to the protocol")
}
