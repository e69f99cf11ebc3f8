package mcp_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/mcp"
)

// listTools returns the names of the tools a session is offered.
func listTools(t *testing.T, cfg mcp.Config) []string {
	t.Helper()
	cs := startServer(t, cfg)
	res, err := cs.ListTools(ctxT(t), nil)
	require.NoError(t, err)
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

// TestToolSelection pins Config.Tools and HideTools, read from the
// environment as `agentchat mcp` does, and the refusal of names that are
// no tools.
func TestToolSelection(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := mcp.ConfigFromEnv(env(mcp.ToolsEnv([]string{"agentchat_connect", "agentchat_send"}, nil)))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"agentchat_connect", "agentchat_send"}, listTools(t, cfg))

	cfg, err = mcp.ConfigFromEnv(env(mcp.ToolsEnv(nil, []string{"agentchat_file_receive", " agentchat_inbox"})))
	require.NoError(t, err)
	names := listTools(t, cfg)
	require.NotContains(t, names, "agentchat_file_receive")
	require.NotContains(t, names, "agentchat_inbox")
	require.Contains(t, names, "agentchat_file_list_offers")

	for _, c := range []mcp.Config{{Tools: []string{"agentchat_sned"}}, {HideTools: []string{"nope"}}} {
		c.Home = t.TempDir()
		_, err := mcp.New(c)
		require.ErrorIs(t, err, mcp.ErrUnknownTool)
	}
}

// TestJournal pins Config.Journal: every call, refused ones too, is one
// line with its arguments and result, and TakeJournal takes them once.
func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tools.jsonl")
	cs := startServer(t, mcp.Config{Journal: path})
	text, isErr := call(t, cs, "agentchat_send", map[string]any{"target": "#general", "message": "hi"})
	require.True(t, isErr, text)
	call(t, cs, "agentchat_channels", nil)
	got, err := mcp.TakeJournal(path)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "agentchat_send", got[0].Tool)
	var args map[string]any
	require.NoError(t, json.Unmarshal(got[0].Args, &args))
	require.Equal(t, "hi", args["message"])
	require.Equal(t, text, got[0].Result)
	require.True(t, got[0].IsError)
	require.Equal(t, "agentchat_channels", got[1].Tool)
	require.Positive(t, got[1].TS)
	again, err := mcp.TakeJournal(path)
	require.NoError(t, err)
	require.Empty(t, again)
}
