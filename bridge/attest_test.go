package bridge_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/p2p"
	"github.com/agentchat/mesh/testnet"
)

// rogue is a libp2p peer that joins the mesh without a node behind it and
// publishes whatever a test tells it to.
type rogue struct {
	host  *p2p.Host
	nodes int // nodes it is connected to
}

// startRogue starts a rogue connected to every node of net; setup runs on
// its host before it connects.
func startRogue(t *testing.T, net *testnet.Net, setup ...func(*p2p.Host)) *rogue {
	t.Helper()
	_, priv, err := identity.GenerateKey()
	require.NoError(t, err)
	cfg := p2p.LocalConfig()
	cfg.Key = priv
	ctx, cancel := context.WithCancel(context.Background())
	h, err := p2p.New(ctx, cfg)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; h.Close() })
	for _, f := range setup {
		f(h)
	}
	for _, n := range net.Nodes {
		require.NoError(t, h.Connect(ctx, n.Host.Addrs()[0]))
	}
	return &rogue{host: h, nodes: len(net.Nodes)}
}

// publish sends v as JSON on topic once every node is known on it, so
// that each receives it from the rogue itself.
func (r *rogue) publish(t *testing.T, topic string, v any) {
	t.Helper()
	tp, err := r.host.Join(topic)
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for len(tp.Peers()) < r.nodes {
		require.True(t, time.Now().Before(deadline), "no peers on %s", topic)
		time.Sleep(20 * time.Millisecond)
	}
	data, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, tp.Publish(context.Background(), data))
}

// stolenRecord fetches agent id's roster record, proof included, from the
// node hosting it, as any peer can.
func (r *rogue) stolenRecord(t *testing.T, host *testnet.Node, id string) map[string]any {
	t.Helper()
	resp, err := r.host.Request(ctxFor(t, 5*time.Second), host.Host.ID(), "/agentchat/roster/1", nil)
	require.NoError(t, err)
	var snap struct {
		Agents []map[string]any `json:"agents"`
	}
	require.NoError(t, json.Unmarshal(resp, &snap))
	for _, a := range snap.Agents {
		if a["id"] == id {
			return a
		}
	}
	t.Fatalf("agent %s not in the roster of its node", id)
	return nil
}

func waitScoredDown(t *testing.T, n *testnet.Node, peer string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for n.Host.PeerScore(peer) >= 0 {
		require.True(t, time.Now().Before(deadline), "peer score stayed %v", n.Host.PeerScore(peer))
		time.Sleep(50 * time.Millisecond)
	}
}

func TestForgedRosterEntryIsRejectedAndScoredDown(t *testing.T) {
	net := startMesh(t, 3, nil)
	victim := connect(t, net, 0, "victim", newKey(t))
	watcher := connect(t, net, 1, "watcher", nil)
	waitListed(t, watcher, "#general", victim.ID)
	r := startRogue(t, net)

	rec := r.stolenRecord(t, net.Nodes[0], victim.ID)
	r.publish(t, "agentchat/1/roster", map[string]any{"e": 1, "s": 1, "k": "up", "a": rec})
	waitScoredDown(t, net.Nodes[1], r.host.ID())
	_, host, ok := net.Nodes[1].Server.RemoteHost(victim.ID)
	require.True(t, ok)
	require.Equal(t, net.Nodes[0].Host.ID(), host, "the victim is still hosted by its own node")
	require.Positive(t, net.Nodes[1].Bridge.Stats().Rejected)
}

func TestForgedChannelMessageIsRejected(t *testing.T) {
	net := startMesh(t, 3, nil)
	victim := connect(t, net, 0, "victim", newKey(t))
	watcher := connect(t, net, 1, "watcher", nil)
	waitListed(t, watcher, "#general", victim.ID)
	r := startRogue(t, net)

	rec := r.stolenRecord(t, net.Nodes[0], victim.ID)
	frame := map[string]any{"type": "MSG", "ts": 1, "from": "@" + victim.ID, "from_name": "victim",
		"to": "#general", "content": "forged", "msg_id": "1-forged", "verified": true}
	r.publish(t, "agentchat/1/chan/#general", map[string]any{"e": 1, "s": 1, "a": rec, "f": frame})
	waitScoredDown(t, net.Nodes[1], r.host.ID())
	expectNoMsg(t, watcher, "forged", 300*time.Millisecond)
}

// ghostEnvelope is the first channel envelope of a rogue origin: a MSG
// with content to channel from an ephemeral agent id, which no node's
// roster names.
func ghostEnvelope(id, channel, content string) map[string]any {
	frame := map[string]any{"type": "MSG", "ts": 1, "from": "@" + id, "from_name": "ghost",
		"to": channel, "content": content, "msg_id": "1-" + content}
	return map[string]any{"e": 7, "s": 1, "a": map[string]any{"id": id, "name": "ghost"}, "f": frame}
}

func TestReplayedMeshMessageIsDeliveredOnce(t *testing.T) {
	net := startMesh(t, 2, nil)
	watcher := connect(t, net, 1, "watcher", nil)
	waitListed(t, watcher, "#general", watcher.ID) // auto-join done
	r := startRogue(t, net)
	env := ghostEnvelope("zz000000", "#general", "once")
	r.publish(t, "agentchat/1/chan/#general", env)
	expectMsg(t, watcher, "once")
	// The same envelope again: gossip gives it a new message ID, the
	// bridge's per-origin sequence still knows it.
	r.publish(t, "agentchat/1/chan/#general", env)
	expectNoMsg(t, watcher, "once", 500*time.Millisecond)
	require.Positive(t, net.Nodes[1].Bridge.Stats().Duplicates)
}

func TestConflictingAgentIDIsRefused(t *testing.T) {
	net := startMesh(t, 2, nil)
	local := connect(t, net, 0, "local", nil) // ephemeral: its ID is not a key's
	other := connect(t, net, 1, "other", nil)
	waitListed(t, other, "#general", local.ID)
	r := startRogue(t, net)
	before := net.Nodes[0].Bridge.Stats().Rejected

	// A peer announces an ephemeral agent with the same wire ID.
	r.publish(t, "agentchat/1/roster", map[string]any{"e": 1, "s": 1, "k": "up",
		"a": map[string]any{"id": local.ID, "name": "impostor", "channels": []string{"#general"}}})
	deadline := time.Now().Add(10 * time.Second)
	for net.Nodes[0].Bridge.Stats().Rejected == before || net.Nodes[1].Bridge.Stats().Rejected == 0 {
		require.True(t, time.Now().Before(deadline), "the conflicting claim was not refused")
		time.Sleep(20 * time.Millisecond)
	}
	_, host, ok := net.Nodes[1].Server.RemoteHost(local.ID)
	require.True(t, ok)
	require.Equal(t, net.Nodes[0].Host.ID(), host, "the first holder keeps the ID")

	// The real holder still gets its direct messages.
	require.NoError(t, other.Send(map[string]any{"type": "MSG", "to": "@" + local.ID, "content": "still you"}))
	expectMsg(t, local, "still you")
}

// A message on one channel's topic whose frame names another channel is
// rejected and counted: honest nodes never publish one, and relaying it
// would let a peer reach a channel's members through any topic.
func TestCrossTopicChannelMessageIsRejected(t *testing.T) {
	net := startMesh(t, 2, nil)
	watcher := connect(t, net, 1, "watcher", nil)
	waitListed(t, watcher, "#general", watcher.ID) // auto-join done
	r := startRogue(t, net)
	r.publish(t, "agentchat/1/chan/#general", ghostEnvelope("zz000001", "#agents", "elsewhere"))
	for i, n := range net.Nodes {
		deadline := time.Now().Add(10 * time.Second)
		for n.Bridge.Stats().Rejected == 0 {
			require.True(t, time.Now().Before(deadline), "node %d accepted a #agents frame on #general: %+v", i, n.Bridge.Stats())
			time.Sleep(20 * time.Millisecond)
		}
	}
	expectNoMsg(t, watcher, "elsewhere", 300*time.Millisecond)
}

// rogueSub is the rogue's subscription to one channel topic.
type rogueSub struct{ sub *p2p.Subscription }

// subscribe subscribes the rogue to topic and returns once node n knows
// it is subscribed, so what n publishes on topic reaches the rogue.
func (r *rogue) subscribe(t *testing.T, n *testnet.Node, topic string) *rogueSub {
	t.Helper()
	tp, err := r.host.Join(topic)
	require.NoError(t, err)
	sub, err := tp.Subscribe()
	require.NoError(t, err)
	t.Cleanup(sub.Cancel)
	theirs, err := n.Host.Join(topic) // the node's own handle on the topic
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(theirs.Peers(), r.host.ID()) {
		require.True(t, time.Now().Before(deadline), "node never saw the rogue on %s", topic)
		time.Sleep(20 * time.Millisecond)
	}
	return &rogueSub{sub: sub}
}

// next returns the next channel envelope's sequence number and content.
func (s *rogueSub) next(t *testing.T) (uint64, string) {
	t.Helper()
	m, err := s.sub.Next(ctxFor(t, 30*time.Second))
	require.NoError(t, err)
	var env struct {
		Seq   uint64 `json:"s"`
		Frame struct {
			Content string `json:"content"`
		} `json:"f"`
	}
	require.NoError(t, json.Unmarshal(m.Data, &env))
	return env.Seq, env.Frame.Content
}
