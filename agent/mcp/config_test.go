package mcp_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/mcp"
)

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url    string
		public bool
		ok     bool
	}{
		{"ws://localhost:6667", false, true},
		{"ws://LOCALHOST:6667/", false, true},
		{"ws://127.0.0.1:6667", false, true},
		{"ws://127.8.9.10:6667", false, true},
		{"ws://[::1]:6667", false, true},
		{"http://localhost:6667", false, true},
		{"wss://agentchat.example.com", false, false},
		{"ws://10.0.0.5:6667", false, false},
		{"ws://0.0.0.0:6667", false, false},
		{"ws://localhost.example.com:6667", false, false},
		{"wss://agentchat.example.com", true, true},
		{"ftp://localhost", false, false},
		{"ftp://agentchat.example.com", true, false},
		{"ws://", false, false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			err := mcp.CheckURL(tc.url, tc.public)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
	require.ErrorIs(t, mcp.CheckURL("ws://192.168.1.2:6667", false), mcp.ErrNotLoopback)
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	cfg, err := mcp.ConfigFromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, mcp.DefaultURL, cfg.URL)
	require.False(t, cfg.Public)

	_, err = mcp.ConfigFromEnv(env(map[string]string{"AGENTCHAT_URL": "wss://agentchat.example.com"}))
	require.ErrorIs(t, err, mcp.ErrNotLoopback)
	_, err = mcp.ConfigFromEnv(env(map[string]string{"AGENTCHAT_URL": "wss://agentchat.example.com", "AGENTCHAT_PUBLIC": "1"}))
	require.ErrorIs(t, err, mcp.ErrNotLoopback, "only \"true\" allows a public node, as the original")
	cfg, err = mcp.ConfigFromEnv(env(map[string]string{"AGENTCHAT_URL": "wss://agentchat.example.com", "AGENTCHAT_PUBLIC": "true"}))
	require.NoError(t, err)
	require.True(t, cfg.Public)

	cfg, err = mcp.ConfigFromEnv(env(map[string]string{"AGENTCHAT_SETTLE_MS": "250"}))
	require.NoError(t, err)
	require.Equal(t, 250*time.Millisecond, cfg.Settle)
	_, err = mcp.ConfigFromEnv(env(map[string]string{"AGENTCHAT_SETTLE_MS": "soon"}))
	require.Error(t, err)
}

func TestNewRefusesRemoteNode(t *testing.T) {
	_, err := mcp.New(mcp.Config{URL: "ws://203.0.113.7:6667", Home: t.TempDir()})
	require.ErrorIs(t, err, mcp.ErrNotLoopback)
	_, err = mcp.New(mcp.Config{URL: "ws://203.0.113.7:6667", Public: true, Home: t.TempDir()})
	require.NoError(t, err)
}
