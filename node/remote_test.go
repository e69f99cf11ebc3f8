package node_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
)

// A 64-bit ID collision between two real keys cannot be found, so the mesh
// side is injected: the node is told another node hosts this key's ID with a
// different key. The agent proving its own key must be refused, not merged.
func TestIdentifyRefusesAnIDHeldByAnotherKey(t *testing.T) {
	n := startNode(t)
	priv, pem := newKey(t)
	_, otherPEM := newKey(t)
	id := identity.AgentID(pem)
	require.NoError(t, n.Srv.UpsertRemote(node.RemoteAgent{
		Record: node.AgentRecord{ID: id, Name: "impostor", Pubkey: otherPEM, Verified: true},
		Node:   "12D3KooWOtherNode", Channels: []string{"#general"},
	}))

	c := n.dial(t)
	c.answer(c.requestChallenge("victim", pem), priv)
	e := c.nextError("NOT_ALLOWED", "Agent ID @"+id+" is held by a different key on another node")
	require.NotNil(t, e)
	require.True(t, c.answersPing(), "the connection survives the refusal")
}

// A remote claim on the ID of a local ephemeral agent is a conflict.
func TestRemoteClaimOnLocalEphemeralIDIsRefused(t *testing.T) {
	n := startNode(t)
	c := n.newAgent(t, "local")
	err := n.Srv.UpsertRemote(node.RemoteAgent{
		Record: node.AgentRecord{ID: c.ID[1:], Name: "impostor"}, Node: "12D3KooWOtherNode"})
	require.ErrorIs(t, err, node.ErrIDConflict)
}
