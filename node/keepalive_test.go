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

// An agent that pings the node gets its pong (gorilla writes it with a
// short write deadline) and still receives frames after that deadline has
// lapsed: the flusher refreshes a stale deadline before writing.
func TestAgentPingThenFramesAfterPongDeadline(t *testing.T) {
	n := startNode(t, noLimits)
	ws, _, err := dialer.Dial(n.URL, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	pongs := make(chan struct{}, 1)
	ws.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
	require.NoError(t, ws.WriteJSON(map[string]any{"type": "IDENTIFY", "name": "pinger"}))
	msgs := make(chan string, 16)
	go func() {
		defer close(msgs)
		for {
			var f map[string]any
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			if f["type"] == "MSG" {
				msgs <- f["content"].(string)
			}
		}
	}()
	require.NoError(t, ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)))
	select {
	case <-pongs:
	case <-time.After(waitTimeout):
		t.Fatal("no pong")
	}
	time.Sleep(1200 * time.Millisecond) // past gorilla's one-second pong write deadline
	other := n.newAgent(t, "other")
	for _, content := range []string{"one", "two"} {
		other.send(map[string]any{"type": "MSG", "to": "#general", "content": content})
		for got := ""; got != content; {
			select {
			case m, ok := <-msgs:
				require.True(t, ok, "the pinger was disconnected")
				got = m
			case <-time.After(waitTimeout):
				t.Fatalf("%q did not arrive", content)
			}
		}
	}
}
