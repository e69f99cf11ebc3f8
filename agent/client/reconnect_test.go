package client_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
)

// TestReconnectAfterNodeRestart stops the node and starts a new one on the
// same data dir and address: the client reconnects, identifies again,
// re-joins its channels and receives a message sent after the restart.
func TestReconnectAfterNodeRestart(t *testing.T) {
	dir := t.TempDir()
	n1 := startNodeAt(t, dir, "127.0.0.1:0", noLimits)
	alice := newIdentity(t, "alice")
	c := dial(t, n1, client.Options{Identity: alice, Reconnect: true,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond})
	_, err := c.Join(ctxT(t), "#agents")
	require.NoError(t, err)

	require.NoError(t, n1.Stop())
	d := nextEvent(t, c, func(d *client.Disconnected) bool { return true })
	require.True(t, d.Reconnecting)
	require.ErrorIs(t, d.Err, client.ErrDisconnected)

	// A call made while the client is away waits for the new connection.
	pinged := make(chan error, 1)
	pingCtx := ctxT(t)
	go func() {
		_, err := c.Ping(pingCtx)
		pinged <- err
	}()

	n2 := startNodeAt(t, dir, n1.Addr, noLimits)
	r := nextEvent(t, c, func(r *client.Reconnected) bool { return true })
	require.Equal(t, []string{"#agents"}, r.Channels)
	require.Empty(t, r.Failed)
	require.Equal(t, "@"+alice.AgentID, r.Welcome.AgentID)
	require.NoError(t, <-pinged)

	bob := dial(t, n2, client.Options{Name: "bob"})
	_, err = bob.Join(ctxT(t), "#agents")
	require.NoError(t, err)
	require.NoError(t, bob.Send(ctxT(t), "#agents", "after the restart"))
	m := nextEvent(t, c, func(m *protocol.MsgFrame) bool { return m.Content == "after the restart" })
	require.Equal(t, bob.AgentID(), m.From)

	agents, err := bob.ListAgents(ctxT(t), "#agents")
	require.NoError(t, err)
	var ids []string
	for _, a := range agents {
		ids = append(ids, a.ID)
	}
	require.Contains(t, ids, c.AgentID())
}

// TestNoReconnectWithoutOption: the client stops when the node goes away.
func TestNoReconnectWithoutOption(t *testing.T) {
	n := startNode(t)
	c := dial(t, n, client.Options{Name: "alice"})
	require.NoError(t, n.Stop())
	d := nextEvent(t, c, func(d *client.Disconnected) bool { return true })
	require.False(t, d.Reconnecting)
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatal("client did not stop")
	}
	require.ErrorIs(t, c.Err(), client.ErrDisconnected)
	_, err := c.Ping(ctxT(t))
	require.ErrorIs(t, err, client.ErrDisconnected)
}

// TestSessionDisplacedStopsReconnect: a second connection proving the same
// key displaces the first (§4.4); the first reports it and does not fight
// back by reconnecting.
func TestSessionDisplacedStopsReconnect(t *testing.T) {
	n := startNode(t)
	alice := newIdentity(t, "alice")
	first := dial(t, n, client.Options{Identity: alice, Reconnect: true,
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond})
	second := dial(t, n, client.Options{Identity: alice})

	sd := nextEvent(t, first, func(*protocol.SessionDisplaced) bool { return true })
	require.Contains(t, sd.Reason, "Another connection")
	d := nextEvent(t, first, func(*client.Disconnected) bool { return true })
	require.False(t, d.Reconnecting)
	require.ErrorIs(t, d.Err, client.ErrDisplaced)
	select {
	case <-first.Done():
	case <-time.After(waitTimeout):
		t.Fatal("displaced client did not stop")
	}
	require.ErrorIs(t, first.Err(), client.ErrDisplaced)
	_, err := first.Ping(ctxT(t))
	require.ErrorIs(t, err, client.ErrDisplaced)

	// Long enough for several reconnect attempts, had there been any.
	time.Sleep(200 * time.Millisecond)
	_, err = second.Ping(ctxT(t))
	require.NoError(t, err)
	noEvent[*protocol.SessionDisplaced](t, second, 50*time.Millisecond, nil)
	require.Equal(t, 1, n.Srv.Agents())
}
