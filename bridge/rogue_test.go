package bridge_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/testnet"
)

// waitRejected waits until node n has rejected more than before mesh
// messages.
func waitRejected(t *testing.T, n *testnet.Node, before uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n.Bridge.Stats().Rejected <= before {
		require.True(t, time.Now().Before(deadline), "nothing rejected (still %d)", before)
		time.Sleep(20 * time.Millisecond)
	}
}

// A peer cannot claim the floor or type for an agent another node hosts,
// and records that are not what their kind says are rejected and counted:
// members see neither, and the next genuine records reach them.
func TestForgedAndMalformedChannelRecordsAreRejected(t *testing.T) {
	net := startMesh(t, 2, noLimits)
	victim := connect(t, net, 0, "victim", newKey(t))
	watcher := connect(t, net, 1, "watcher", nil)
	waitChannelMesh(t, "#general", victim, watcher)
	r := startRogue(t, net)
	rec := r.stolenRecord(t, net.Nodes[0], victim.ID)
	ghost := map[string]any{"id": "zz000000", "name": "ghost"} // ephemeral: any node may announce it once
	topic := "agentchat/1/chan/#general"
	claimFrame := func(holder string) map[string]any {
		return map[string]any{"type": "FLOOR_CLAIMED", "ts": 1, "msg_id": "9-forged", "channel": "#general",
			"holder": holder, "holder_name": "x", "started_at": 1}
	}
	// Gossipsub squares a peer's invalid messages into its score and
	// ignores it past the graylist threshold, so each rogue sends three.
	for i, env := range []map[string]any{
		{"k": "floor", "e": 1, "s": 0, "a": rec, "f": claimFrame("@" + victim.ID)}, // not the rogue's agent
		{"k": "typing", "e": 1, "s": 0, "a": rec, "f": map[string]any{"type": "TYPING", "ts": 1, "from": "@" + victim.ID, "from_name": "victim", "channel": "#general"}},
		{"k": "floor", "e": 1, "s": 0, "a": ghost, "f": claimFrame("@" + victim.ID)},                                                 // holder is not the author
		{"k": "floor", "e": 1, "s": 0, "a": ghost, "f": "not a frame"},                                                               // no frame
		{"k": "typing", "e": 1, "s": 0, "a": ghost, "f": map[string]any{"type": "TYPING", "from": "@zz000000", "channel": "#other"}}, // another channel
		{"k": "bogus", "e": 1, "s": 0, "a": ghost, "f": map[string]any{}},                                                            // unknown kind
	} {
		if i == 3 {
			r = startRogue(t, net)
		}
		before := net.Nodes[1].Bridge.Stats().Rejected
		r.publish(t, topic, env)
		waitRejected(t, net.Nodes[1], before)
	}
	// The genuine records that follow are the first the watcher gets.
	require.NoError(t, victim.Send(map[string]any{"type": "TYPING", "channel": "#general"}))
	require.Equal(t, "@"+victim.ID, nextFrame(t, watcher, "TYPING").String("from"))
	claim(t, victim, "9-real", 10)
	f := nextFrame(t, watcher, "FLOOR_CLAIMED")
	require.Equal(t, "9-real", f.String("msg_id"), "a forged claim reached the watcher: %s", f.Raw)
	require.Equal(t, "@"+victim.ID, f.String("holder"))
}

// A peer cannot answer or ask a verification for an agent another node
// hosts, nor send a malformed one: each is refused and counted, and the
// genuine answer still verifies.
func TestForgedVerificationIsRefused(t *testing.T) {
	net := startMesh(t, 2, noLimits)
	a := connect(t, net, 0, "alice", newKey(t))
	dKey := newKey(t)
	d := connect(t, net, 1, "dave", dKey)
	waitListed(t, a, "#general", d.ID)
	r := startRogue(t, net)
	id := askVerify(t, a, d)

	send := func(n *testnet.Node, v any) string {
		t.Helper()
		data, ok := v.([]byte)
		if !ok {
			var err error
			data, err = json.Marshal(v)
			require.NoError(t, err)
		}
		before := n.Bridge.Stats().Rejected
		resp, err := r.host.Request(ctxFor(t, 10*time.Second), n.Host.ID(), "/agentchat/verify/1", data)
		require.NoError(t, err)
		require.Greater(t, n.Bridge.Stats().Rejected, before, "not counted: %s", resp)
		return string(resp)
	}
	dRec := r.stolenRecord(t, net.Nodes[1], d.ID)
	aRec := r.stolenRecord(t, net.Nodes[0], a.ID)
	for _, tc := range []struct {
		to  *testnet.Node
		msg any
	}{
		{net.Nodes[0], map[string]any{"op": "answer", "request_id": id, "agent": dRec, "nonce": verifyNonce, "sig": "AAAA"}},
		{net.Nodes[1], map[string]any{"op": "ask", "request_id": "verify_x_00000000", "agent": aRec, "target": d.ID, "nonce": verifyNonce}},
		{net.Nodes[0], []byte("{not json")},
		{net.Nodes[0], map[string]any{"op": "answer", "request_id": id, "agent": map[string]any{"id": "zz000000"}, "nonce": "short"}},
	} {
		require.True(t, strings.HasPrefix(send(tc.to, tc.msg), "refused"))
	}
	// Dave got no forged request, and alice's is still pending.
	answerVerify(t, d, id, verifyNonce, dKey)
	ok := nextFrame(t, a, "VERIFY_SUCCESS", "VERIFY_FAILED")
	require.Equal(t, "VERIFY_SUCCESS", ok.Type)
	require.Equal(t, id, ok.String("request_id"))
	require.Equal(t, id, nextFrame(t, d, "VERIFY_SUCCESS").String("request_id"))
	require.NoError(t, a.Send(map[string]any{"type": "VERIFY_REQUEST", "target": "@" + d.ID, "nonce": verifyNonce}))
	require.Equal(t, "@"+a.ID, nextFrame(t, d, "VERIFY_REQUEST").String("from"), "a forged request reached dave")
}

// A node may keep at most node.MaxRemoteVerifies verification requests
// pending at another node: each is held for VerifyTimeout and sends the
// target a frame, so without a bound a rogue node holds unbounded state
// there and floods the agent. The next ask is refused as busy, the target
// sees only the first ones, and other nodes' asks still pass.
func TestRemoteVerifyAsksAreCapped(t *testing.T) {
	net := startMesh(t, 2, noLimits)
	a := connect(t, net, 0, "alice", newKey(t))
	d := connect(t, net, 1, "dave", newKey(t))
	waitListed(t, a, "#general", d.ID)
	r := startRogue(t, net)
	ask := func(i int) string {
		t.Helper()
		data, err := json.Marshal(map[string]any{"op": "ask", "request_id": fmt.Sprintf("verify_rogue_%08d", i),
			"agent": map[string]any{"id": fmt.Sprintf("zz%06d", i), "name": "ghost"}, "target": d.ID, "nonce": verifyNonce})
		require.NoError(t, err)
		resp, err := r.host.Request(ctxFor(t, 10*time.Second), net.Nodes[1].Host.ID(), "/agentchat/verify/1", data)
		require.NoError(t, err)
		return string(resp)
	}
	for i := range node.MaxRemoteVerifies {
		require.Equal(t, "ok", ask(i), "ask %d", i)
	}
	require.Equal(t, "too many pending", ask(node.MaxRemoteVerifies))
	for range node.MaxRemoteVerifies {
		nextFrame(t, d, "VERIFY_REQUEST")
	}
	require.NoError(t, a.Send(map[string]any{"type": "VERIFY_REQUEST", "target": "@" + d.ID, "nonce": verifyNonce}))
	require.Equal(t, "@"+a.ID, nextFrame(t, d, "VERIFY_REQUEST").String("from"), "another node's ask was refused")
}
