package mcp_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/mcp"
	"github.com/agentchat/mesh/protocol"
)

func TestToolsNeedConnection(t *testing.T) {
	cs := startServer(t, mcp.Config{})
	tools, err := cs.ListTools(ctxT(t), nil)
	require.NoError(t, err)
	for _, tool := range tools.Tools {
		schema, ok := tool.InputSchema.(map[string]any)
		require.True(t, ok, "%s: input schema %T", tool.Name, tool.InputSchema)
		require.Equal(t, "object", schema["type"], tool.Name)
		require.NotEmpty(t, tool.Description, tool.Name)
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"agentchat_send", map[string]any{"target": "#general", "message": "hi"}},
		{"agentchat_listen", map[string]any{"channels": []string{"#general"}}},
		{"agentchat_channels", nil},
		{"agentchat_leave", map[string]any{"channel": "#general"}},
		{"agentchat_nick", map[string]any{"nick": "bob"}},
		{"agentchat_set_presence", map[string]any{"status_text": "here"}},
		{"agentchat_propose", map[string]any{"to": "@0123456789abcdef", "task": "x"}},
		{"agentchat_accept", map[string]any{"proposal_id": "p"}},
		{"agentchat_search_skills", map[string]any{}},
	} {
		require.Equal(t, "Not connected. Use agentchat_connect first.", callErr(t, cs, tc.tool, tc.args), tc.tool)
	}
	// Schema validation happens before the handler.
	require.Contains(t, callErr(t, cs, "agentchat_send", map[string]any{"target": "#general"}), "message")
}

func TestConnectAndChannelTools(t *testing.T) {
	n := startNode(t, noLimits)
	home := t.TempDir()
	cs := startServer(t, mcp.Config{URL: n.URL, Home: home})

	// Refusals first: nothing is connected by them.
	require.Contains(t, callErr(t, cs, "agentchat_connect", map[string]any{"identity_path": "/tmp/elsewhere.json"}), "inside ~/.agentchat")
	require.Contains(t, callErr(t, cs, "agentchat_connect", map[string]any{"name": "../x"}), "invalid agent name")
	require.Contains(t, callErr(t, cs, "agentchat_connect", map[string]any{"server_url": "ws://198.51.100.1:6667"}), "AGENTCHAT_PUBLIC=true")
	require.Contains(t, callErr(t, cs, "agentchat_connect", map[string]any{"channels": []string{"#nope"}}), string(protocol.CodeChannelNotFound),
		"a channel asked for explicitly must exist")

	// Ephemeral: no name, no identity file.
	out := callOK(t, cs, "agentchat_connect", nil)
	require.Equal(t, false, out["persistent"])
	require.Nil(t, out["identity_path"])
	require.Regexp(t, `^anon_[0-9a-z]{6}$`, out["name"])
	require.Equal(t, []any{"#general", "#discovery"}, out["channels"])
	market := out["marketplace"].(map[string]any)
	require.Equal(t, []any{"#discovery"}, market["channels"])
	require.NotEmpty(t, market["hint"])

	// A second connect replaces the first, here with an identity chosen by
	// path and explicit channels (the "#" may be left out).
	out = callOK(t, cs, "agentchat_connect", map[string]any{"identity_path": "ids/me.json", "name": "me", "channels": []string{"agents", "#general"}})
	require.Equal(t, true, out["persistent"])
	require.Equal(t, filepath.Join(home, ".agentchat", "ids", "me.json"), out["identity_path"])
	require.FileExists(t, filepath.Join(home, ".agentchat", "ids", "me.json"))
	require.Equal(t, []any{"#agents", "#general"}, out["channels"])
	self := out["agent_id"].(string)

	out = callOK(t, cs, "agentchat_channels", nil)
	require.Equal(t, []any{"#agents", "#general"}, out["joined"])
	var names []string
	for _, ch := range out["channels"].([]any) {
		names = append(names, ch.(map[string]any)["name"].(string))
	}
	require.Subset(t, names, []string{"#general", "#agents", "#discovery"})

	out = callOK(t, cs, "agentchat_leave", map[string]any{"channel": "#agents"})
	require.Equal(t, map[string]any{"success": true, "left": "#agents", "remaining": []any{"#general"}}, out)

	raw := dial(t, n, client.Options{Name: "raw", Channels: []string{"#general"}})

	out = callOK(t, cs, "agentchat_nick", map[string]any{"nick": "renamed"})
	require.Equal(t, map[string]any{"success": true, "nick": "renamed", "agent_id": self}, out)
	nextEvent(t, raw, func(e *protocol.NickChanged) bool { return e.AgentID == self && e.NewNick == "renamed" })
	require.Contains(t, callErr(t, cs, "agentchat_nick", map[string]any{"nick": strings.Repeat("n", 25)}), "invalid nick")

	out = callOK(t, cs, "agentchat_set_presence", map[string]any{"status_text": "reviewing code"})
	require.Equal(t, map[string]any{"success": true, "status_text": "reviewing code"}, out)
	p := nextEvent(t, raw, func(e *protocol.PresenceChanged) bool { return e.AgentID == self })
	require.Equal(t, protocol.PresenceOnline, p.Presence)
	require.Equal(t, "reviewing code", derefString(p.StatusText))

	// agentchat_send joins a channel it has not joined yet.
	out = callOK(t, cs, "agentchat_send", map[string]any{"target": "#discovery", "message": "anyone?"})
	require.Equal(t, true, out["success"])
	require.Contains(t, callOK(t, cs, "agentchat_channels", nil)["joined"], "#discovery")
	require.Contains(t, callErr(t, cs, "agentchat_send", map[string]any{"target": "general", "message": "x"}), "must start with")
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestListen(t *testing.T) {
	n := startNode(t, noLimits)
	cs := startServer(t, mcp.Config{URL: n.URL})
	raw := dial(t, n, client.Options{Name: "raw", Identity: newIdentity(t, "raw"), Channels: []string{"#general", "#agents"}})
	ctx := ctxT(t)
	require.NoError(t, raw.Send(ctx, "#general", "before you came"))

	// agentchat_connect joins #general, whose history the node replays:
	// the first listen returns it at once, marked as a replay.
	out := callOK(t, cs, "agentchat_connect", map[string]any{"name": "listener"})
	self := out["agent_id"].(string)
	out = callOK(t, cs, "agentchat_listen", map[string]any{"channels": []string{"#general"}, "max_wait_s": 2})
	msgs := messages(t, out)
	require.Len(t, msgs, 1, "%v", out)
	require.Equal(t, "before you came", msgs[0]["content"])
	require.Equal(t, true, msgs[0]["replay"])

	// Nothing arrives: timeout. The node's own notices (@server, "raw came
	// online") never count.
	out = callOK(t, cs, "agentchat_listen", map[string]any{"channels": []string{"#general"}, "max_wait_s": 0.3})
	require.Equal(t, true, out["timeout"])
	require.Equal(t, 0.3, out["timeout_s"])
	require.Empty(t, messages(t, out))

	// The agent's own direct message to itself is not news either.
	callOK(t, cs, "agentchat_send", map[string]any{"target": self, "message": "note to self"})
	out = callOK(t, cs, "agentchat_listen", map[string]any{"channels": []string{"#general"}, "max_wait_s": 0.3})
	require.Equal(t, true, out["timeout"], "own messages are excluded: %v", out)

	// The node delivers every public channel (it auto-joins agents to
	// them); a message to one the agent did not listen to waits in the
	// inbox. Listening there joins the channel explicitly (the client then
	// re-joins it after a reconnect) and returns the message once, though
	// the join's replay repeats it.
	require.NoError(t, raw.Send(ctx, "#general", "first"))
	require.NoError(t, raw.Send(ctx, "#agents", "not listened to yet"))
	out = callOK(t, cs, "agentchat_listen", map[string]any{"channels": []string{"#agents"}, "max_wait_s": 2})
	msgs = messages(t, out)
	require.Len(t, msgs, 1, "%v", out)
	require.Equal(t, "not listened to yet", msgs[0]["content"])
	require.Contains(t, callOK(t, cs, "agentchat_channels", nil)["joined"], "#agents")

	// Already buffered: returned at once, without a settle window. "first"
	// was sent before the #agents message over the same connection, so it
	// is in the inbox by now.
	out = callOK(t, cs, "agentchat_listen", map[string]any{"channels": []string{"#general"}, "max_wait_s": 0.2})
	require.Equal(t, false, out["settled"], "%v", out)
	msgs = messages(t, out)
	require.Len(t, msgs, 1)
	require.Equal(t, "first", msgs[0]["content"])
	require.Equal(t, "raw", msgs[0]["from_name"])

	// tail returns recent history at once.
	out = callOK(t, cs, "agentchat_listen", map[string]any{"channels": []string{"#general"}, "tail": 5})
	require.Equal(t, true, out["tail"])
	require.Equal(t, float64(2), out["count"], "%v", out)

	// A canceled listen puts presence back to online.
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err := cs.CallTool(short, &sdk.CallToolParams{Name: "agentchat_listen",
		Arguments: map[string]any{"channels": []string{"#general"}, "max_wait_s": 30}})
	require.Error(t, err)
	nextEvent(t, raw, func(p *protocol.PresenceChanged) bool {
		return p.AgentID == self && p.Presence == protocol.PresenceListening
	})
	nextEvent(t, raw, func(p *protocol.PresenceChanged) bool {
		return p.AgentID == self && p.Presence == protocol.PresenceOnline
	})
}

// TestListenAfterReconnect restarts the node under the agent: the client
// reconnects and re-joins by itself, and listen keeps working.
func TestListenAfterReconnect(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	n := startNodeAt(t, dir, addr, noLimits)
	cs := startServer(t, mcp.Config{URL: n.URL, ClientOptions: func(o *client.Options) {
		o.ReconnectMin, o.ReconnectMax = 20*time.Millisecond, 100*time.Millisecond
	}})
	callOK(t, cs, "agentchat_connect", map[string]any{"name": "survivor"})
	require.NoError(t, n.Stop())
	n = startNodeAt(t, dir, addr, noLimits)

	raw := dial(t, n, client.Options{Name: "raw", Identity: newIdentity(t, "raw"), Channels: []string{"#general"}})
	listened := goListen(cs, map[string]any{"channels": []string{"#general"}, "max_wait_s": 8})
	// The agent is back in #general once its presence shows there.
	nextEvent(t, raw, func(p *protocol.PresenceChanged) bool { return p.Presence == protocol.PresenceListening })
	require.NoError(t, raw.Send(ctxT(t), "#general", "welcome back"))
	out := waitListen(t, listened)
	msgs := messages(t, out)
	require.NotEmpty(t, msgs, "%v", out)
	require.Equal(t, "welcome back", msgs[len(msgs)-1]["content"])
}

func TestMarketTools(t *testing.T) {
	n := startNode(t, noLimits, withMarket(newTestMarket()))
	cs := startServer(t, mcp.Config{URL: n.URL})

	// Without an identity, nothing can be signed.
	callOK(t, cs, "agentchat_connect", nil)
	require.Contains(t, callErr(t, cs, "agentchat_propose", map[string]any{"to": "@0123456789abcdef", "task": "x"}), "identity")

	out := callOK(t, cs, "agentchat_connect", map[string]any{"name": "buyer"})
	self := out["agent_id"].(string)
	seller := dial(t, n, client.Options{Name: "seller", Identity: newIdentity(t, "seller")})

	// propose returns the node's proposal id (the original returned none).
	out = callOK(t, cs, "agentchat_propose", map[string]any{"to": seller.AgentID(), "task": "review my PR",
		"amount": 5, "currency": "TEST", "expires": 300})
	got := nextEvent(t, seller, func(p *protocol.ProposalFrame) bool { return p.From == self })
	require.Equal(t, map[string]any{"success": true, "proposal_id": got.ID, "from": self, "to": seller.AgentID(),
		"task": "review my PR", "status": "pending", "amount": float64(5), "currency": "TEST", "expires": float64(300)}, out)
	require.NotEmpty(t, got.ID)

	// The seller accepts: the buyer's listen reports it.
	_, err := seller.Accept(ctxT(t), got.ID, "", 0)
	require.NoError(t, err)
	out = callOK(t, cs, "agentchat_listen", map[string]any{"channels": []string{"#general"}, "max_wait_s": 5})
	msgs := messages(t, out)
	require.Len(t, msgs, 1, "%v", out)
	require.Equal(t, "ACCEPT", msgs[0]["type"])
	require.Equal(t, got.ID, msgs[0]["proposal_id"])
	require.Equal(t, seller.AgentID(), msgs[0]["from"])
	require.Equal(t, self, msgs[0]["to"])

	out = callOK(t, cs, "agentchat_complete", map[string]any{"proposal_id": got.ID, "proof": "merged"})
	require.Equal(t, true, out["success"])
	require.Equal(t, "completed", out["status"])
	require.Equal(t, self, out["completed_by"])
	require.Equal(t, "merged", out["proof"])

	// Proposals to the buyer arrive through listen, and it answers them.
	offer := func(task string) string {
		p, err := seller.Propose(ctxT(t), client.ProposalArgs{To: self, Task: task})
		require.NoError(t, err)
		out := callOK(t, cs, "agentchat_listen", map[string]any{"channels": []string{"#general"}, "max_wait_s": 5})
		msgs := messages(t, out)
		require.Len(t, msgs, 1, "%v", out)
		require.Equal(t, "PROPOSAL", msgs[0]["type"])
		require.Equal(t, p.ID, msgs[0]["proposal_id"])
		require.Contains(t, msgs[0]["content"], task)
		return p.ID
	}
	id := offer("write docs")
	out = callOK(t, cs, "agentchat_reject", map[string]any{"proposal_id": id, "reason": "busy"})
	require.Equal(t, map[string]any{"success": true, "proposal_id": id, "status": "rejected", "reason": "busy"}, out)

	id = offer("fix bug")
	out = callOK(t, cs, "agentchat_accept", map[string]any{"proposal_id": id})
	require.Equal(t, map[string]any{"success": true, "proposal_id": id, "status": "accepted", "accepted_by": self}, out)
	out = callOK(t, cs, "agentchat_dispute", map[string]any{"proposal_id": id, "reason": "never paid"})
	require.Equal(t, map[string]any{"success": true, "proposal_id": id, "status": "disputed", "disputed_by": self, "reason": "never paid"}, out)

	out = callOK(t, cs, "agentchat_register_skills", map[string]any{"skills": []map[string]any{
		{"capability": "code_review", "rate": 5, "currency": "TEST"}, {"capability": "docs"}}})
	require.Equal(t, map[string]any{"success": true, "agent_id": self, "skills_count": float64(2), "registered_at": out["registered_at"]}, out)
	require.Contains(t, callErr(t, cs, "agentchat_register_skills", map[string]any{"skills": []map[string]any{{"description": "x"}}}), "capability")

	out = callOK(t, cs, "agentchat_search_skills", map[string]any{"capability": "code_review", "limit": 5})
	require.Equal(t, float64(1), out["total"])
	require.Equal(t, map[string]any{"capability": "code_review", "limit": float64(5)}, out["query"])
	require.Len(t, out["results"], 1)
}

// TestServerCloseEndsListen checks that Close (as on SIGTERM) ends a
// listen that is still waiting, and that Run returns nil.
func TestServerCloseEndsListen(t *testing.T) {
	n := startNode(t, noLimits)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := mcp.New(mcp.Config{URL: n.URL, Home: t.TempDir()})
	require.NoError(t, err)
	cs, done := runServer(t, ctx, srv)
	self := callOK(t, cs, "agentchat_connect", map[string]any{"name": "sleeper"})["agent_id"]
	raw := dial(t, n, client.Options{Name: "raw", Channels: []string{"#general"}})
	listened := goListen(cs, map[string]any{"channels": []string{"#general"}, "max_wait_s": 60})
	nextEvent(t, raw, func(p *protocol.PresenceChanged) bool {
		return p.AgentID == self && p.Presence == protocol.PresenceListening
	})
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return after its context ended")
	}
	require.Less(t, time.Since(start), 5*time.Second)
	select {
	case <-listened:
	case <-time.After(waitTimeout):
		t.Fatal("the listen call did not end")
	}
	_ = cs.Close()
}

func TestToolList(t *testing.T) {
	cs := startServer(t, mcp.Config{})
	tools, err := cs.ListTools(ctxT(t), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	require.Subset(t, names, allTools)
	for _, name := range names {
		require.True(t, slices.Contains(allTools, name) || name == "agentchat_create_channel", name)
	}
}
