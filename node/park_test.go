package node_test

import (
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
)

// parked reads the number of parked agents from /health.
func (n *testNode) parked(t *testing.T) int {
	t.Helper()
	_, _, body := httpGet(t, "GET", "http://"+n.Addr+"/health")
	var h struct {
		Agents struct{ Parked int } `json:"agents"`
	}
	require.NoError(t, json.Unmarshal(body, &h))
	return h.Agents.Parked
}

func (n *testNode) waitParked(t *testing.T, want int) {
	t.Helper()
	require.Eventually(t, func() bool { return n.parked(t) == want }, waitTimeout, 10*time.Millisecond,
		"%d agents should be parked", want)
}

// readers counts the goroutines reading agent frames.
func readers() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "node.(*conn).readLoop")
}

// Idle agents are parked with no reader goroutine, and everything that
// can happen to an idle agent still does: a message it sends (even one
// split around the park), a ping, the node's delivery to it, its
// disappearance and the node's shutdown.
func TestIdleAgentsParkAndWake(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sockets park only on Linux (epoll)")
	}
	n := startNode(t, noLimits, func(c *node.Config) { c.ParkAfter = 50 * time.Millisecond })
	a := n.newAgent(t, "alice")
	b := n.newAgent(t, "bob")
	n.waitParked(t, 2)
	require.Zero(t, readers(), "parked agents hold no reader goroutine")

	// A message from a parked agent wakes its reader; the other, parked,
	// still receives it.
	a.send(map[string]any{"type": "MSG", "to": "#general", "content": "first"})
	require.Equal(t, "first", b.nextMatch("MSG first", msgFrom(a.ID)).str("content"))
	require.True(t, b.answersPing())
	n.waitParked(t, 2)

	// A message whose fragments straddle a park arrives whole.
	head, tail := `{"type":"MSG","to":"#general",`, `"content":"split"}`
	_, err := a.ws.UnderlyingConn().Write(node.ClientFrame(0x1, false, []byte(head), [4]byte{1, 2, 3, 4}))
	require.NoError(t, err)
	n.waitParked(t, 2)
	_, err = a.ws.UnderlyingConn().Write(node.ClientFrame(0x0, true, []byte(tail), [4]byte{5, 6, 7, 8}))
	require.NoError(t, err)
	require.Equal(t, "split", b.nextMatch("MSG split", msgFrom(a.ID)).str("content"))
	n.waitParked(t, 2)

	// A websocket ping to a parked agent's socket is answered, and the
	// socket parks again at once.
	pongs := make(chan string, 1)
	a.ws.SetPongHandler(func(s string) error { pongs <- s; return nil })
	require.NoError(t, a.ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)))
	select {
	case s := <-pongs:
		require.Equal(t, "hi", s)
	case <-time.After(waitTimeout):
		t.Fatal("no pong from a parked socket")
	}
	n.waitParked(t, 2)

	// An agent that vanishes while parked is noticed.
	require.NoError(t, b.ws.UnderlyingConn().Close())
	n.waitAgents(t, 1)
	require.Equal(t, 1, n.parked(t))

	// Shutdown closes the parked agent with 1001 and completes.
	require.NoError(t, n.stop())
	select {
	case <-a.done:
	case <-time.After(waitTimeout):
		t.Fatal("the parked agent was not closed at shutdown")
	}
	require.Equal(t, websocket.CloseGoingAway, a.closeCode())
}

// With parking off, idle agents keep their reader.
func TestParkingOff(t *testing.T) {
	n := startNode(t, func(c *node.Config) { c.ParkAfter = 0 })
	n.newAgent(t, "alice")
	time.Sleep(200 * time.Millisecond) // several sweeps
	require.Zero(t, n.parked(t))
	require.Equal(t, 1, readers())
}

// Agents that close while the node is writing to them are all torn down:
// the close echo and the flusher's writes race, and the node must still
// finish every connection (and so stop).
func TestCloseWhileReceiving(t *testing.T) {
	n := startNode(t, noLimits)
	sender := n.newAgent(t, "sender")
	var receivers []*client
	for i := range 20 {
		receivers = append(receivers, n.newAgent(t, "r"+strconv.Itoa(i)))
	}
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if sender.sendErr(map[string]any{"type": "MSG", "to": "#general", "content": "m" + strconv.Itoa(i)}) != nil {
				return
			}
		}
	}()
	for _, r := range receivers {
		r.nextMatch("a message", msgFrom(sender.ID))
		r.close()
	}
	close(stop)
	<-sent
	n.waitAgents(t, 1)
	require.NoError(t, n.stop(), "every connection finished")
}
