package node_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
)

// The node pings every agent (the flusher writes the ping frames); an
// agent that answers stays, one that never answers is dropped after the
// pong timeout.
func TestKeepalivePingsAndDropsDeadPeers(t *testing.T) {
	n := startNode(t, func(c *node.Config) {
		c.SweepInterval, c.PingInterval, c.PongTimeout = 20*time.Millisecond, 100*time.Millisecond, 600*time.Millisecond
	})
	dial := func(answer bool) (*websocket.Conn, *atomic.Int64) {
		ws, _, err := dialer.Dial(n.URL, nil)
		require.NoError(t, err)
		t.Cleanup(func() { ws.Close() })
		var pings atomic.Int64
		ws.SetPingHandler(func(data string) error {
			pings.Add(1)
			if !answer {
				return nil
			}
			return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		require.NoError(t, ws.WriteJSON(map[string]any{"type": "IDENTIFY", "name": "k"}))
		return ws, &pings
	}
	alive, alivePings := dial(true)
	dead, deadPings := dial(false)
	ended := make(chan *websocket.Conn, 2)
	for _, ws := range []*websocket.Conn{alive, dead} {
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					ended <- ws
					return
				}
			}
		}()
	}
	select {
	case ws := <-ended:
		require.Same(t, dead, ws, "the silent agent is the one dropped")
	case <-time.After(waitTimeout):
		t.Fatal("the silent agent was not dropped")
	}
	require.Positive(t, deadPings.Load(), "the silent agent was pinged")
	n.waitAgents(t, 1)
	require.Eventually(t, func() bool { return alivePings.Load() >= 3 }, waitTimeout, 10*time.Millisecond,
		"the answering agent keeps being pinged")
	select {
	case <-ended:
		t.Fatal("the answering agent was dropped")
	default:
	}
}
