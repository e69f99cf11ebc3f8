package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the app writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTestnetJSON runs `agentchat testnet --nodes 2 --json` in process and
// checks the last line's shape, which scripts rely on, then stops it the
// way Ctrl-C does.
func TestTestnetJSON(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	app := newApp()
	app.Writer = out
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, []string{"agentchat", "--log-level", "error", "testnet", "--nodes", "2", "--json", "--dir", t.TempDir()})
	}()
	var line string
	require.Eventually(t, func() bool {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		line = lines[len(lines)-1]
		return strings.HasPrefix(line, `{"nodes":`)
	}, 60*time.Second, 20*time.Millisecond)

	var mesh struct {
		Nodes []struct {
			WS     string   `json:"ws"`
			HTTP   string   `json:"http"`
			PeerID string   `json:"peer_id"`
			Addrs  []string `json:"addrs"`
		} `json:"nodes"`
	}
	require.NoError(t, json.Unmarshal([]byte(line), &mesh))
	require.Len(t, mesh.Nodes, 2)
	for _, n := range mesh.Nodes {
		require.True(t, strings.HasPrefix(n.WS, "ws://127.0.0.1:"), n.WS)
		require.NotEmpty(t, n.PeerID)
		require.NotEmpty(t, n.Addrs)
		require.True(t, strings.HasPrefix(n.Addrs[0], "/ip4/"), n.Addrs[0])
		resp, err := http.Get(n.HTTP + "/health")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("testnet did not shut down")
	}
}
