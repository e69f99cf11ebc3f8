package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
)

// Shapes of server-made identifiers (PROTOCOL.md §0, §4.2, §9.1, §15).
var (
	reEphemeralID = regexp.MustCompile(`^@[a-z0-9]{8}$`)
	reChallengeID = regexp.MustCompile(`^chal_[0-9a-z]+_[0-9a-f]{8}$`)
	reNonce       = regexp.MustCompile(`^[0-9a-f]{32}$`)
	reMsgID       = regexp.MustCompile(`^[0-9]+-[0-9a-z]{6}$`)
	reVerifyID    = regexp.MustCompile(`^verify_[0-9a-z]+_[0-9a-f]{8}$`)
)

// TestConformance walks the lifecycle of PROTOCOL.md as amended by DESIGN.md
// "Compatibility decisions". Every subtest runs its own node on its own data
// dir, so none depends on another's state.
func TestConformance(t *testing.T) {
	t.Run("health", func(t *testing.T) {
		n := startNode(t)
		n.newAgent(t, "eph")
		n.newKeyAgent(t, "keyed")
		n.waitAgents(t, 2)

		status, hdr, body := httpGet(t, "GET", "http://"+n.Addr+"/health")
		require.Equal(t, 200, status)
		require.Contains(t, hdr.Get("Content-Type"), "application/json")
		var h map[string]any
		require.NoError(t, json.Unmarshal(body, &h), "body %s", body)
		require.Equal(t, "healthy", h["status"])
		require.Equal(t, "agentchat", h["server"])
		require.Equal(t, "0.0.0", h["version"])
		require.IsType(t, float64(0), h["uptime_seconds"])
		require.GreaterOrEqual(t, h["uptime_seconds"].(float64), float64(0))
		startedAt, ok := h["started_at"].(string)
		require.True(t, ok, "started_at is a string once running: %v", h["started_at"])
		_, err := time.Parse(time.RFC3339, startedAt)
		require.NoError(t, err)
		ts, ok := h["timestamp"].(string)
		require.True(t, ok)
		_, err = time.Parse(time.RFC3339, ts)
		require.NoError(t, err)
		agents := h["agents"].(map[string]any)
		require.IsType(t, float64(0), agents["parked"], "parked: this node's addition")
		delete(agents, "parked")
		require.Equal(t, map[string]any{"connected": float64(2), "with_identity": float64(1)}, agents)
		require.Equal(t, map[string]any{"total": float64(3), "public": float64(3)}, h["channels"])
		props, ok := h["proposals"].(map[string]any)
		require.True(t, ok, "proposals block: %v", h["proposals"])
		require.Equal(t, float64(0), props["total"])
		require.Equal(t, map[string]any{}, props["byStatus"])
		require.Equal(t, float64(0), props["agents"])

		for _, tc := range []struct{ method, path string }{
			{"GET", "/health?x"},
			{"GET", "/health?"},
			{"GET", "/health/"},
			{"GET", "/healthz"},
			{"GET", "/"},
			{"POST", "/health"},
		} {
			status, _, body := httpGet(t, tc.method, "http://"+n.Addr+tc.path)
			require.Equal(t, 404, status, "%s %s", tc.method, tc.path)
			require.Equal(t, "Not Found", string(body), "%s %s", tc.method, tc.path)
		}
	})

	t.Run("upgrade on any path", func(t *testing.T) {
		n := startNode(t)
		for _, path := range []string{"/", "/anything", "/a/b/c?x=1", "/health"} {
			c := dialURL(t, "ws://"+n.Addr+path)
			c.sync()
		}
	})

	t.Run("ping before identify", func(t *testing.T) {
		n := startNode(t)
		c := n.dial(t)
		c.send(`{"type":"PING"}`)
		p := c.next("PONG")
		require.IsType(t, float64(0), p["ts"], "every server frame carries ts")
	})

	t.Run("binary frames are accepted", func(t *testing.T) {
		n := startNode(t)
		c := n.dial(t)
		require.NoError(t, c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"PING"}`)))
		c.next("PONG")
	})

	t.Run("list channels before identify", func(t *testing.T) {
		n := startNode(t)
		n.newAgent(t, "member")
		c := n.dial(t)
		c.send(map[string]any{"type": "LIST_CHANNELS"})
		f := c.next("CHANNELS")
		require.Equal(t, []any{
			map[string]any{"name": "#general", "agents": float64(1)},
			map[string]any{"name": "#agents", "agents": float64(1)},
			map[string]any{"name": "#discovery", "agents": float64(1)},
		}, f["list"])
	})

	t.Run("ephemeral identify", func(t *testing.T) {
		n := startNode(t)
		bob := n.newAgent(t, "bob")
		alice := n.dial(t)
		alice.send(map[string]any{"type": "IDENTIFY", "name": "alice"})
		w := alice.next("WELCOME")
		require.Regexp(t, reEphemeralID, w.str("agent_id"))
		require.Equal(t, "alice", w.str("name"))
		require.Equal(t, "agentchat", w.str("server"))
		require.NotEmpty(t, w.str("disclaimer"))
		require.False(t, w.has("verified"), "ephemeral WELCOME has no verified field: %v", w)
		require.False(t, w.has("lurk"), "no lurk mode: %v", w)
		alice.ID = w.str("agent_id")

		// Auto-join: the other member of every default channel is told.
		for _, ch := range []string{"#general", "#agents", "#discovery"} {
			j := bob.nextMatch("AGENT_JOINED "+ch, func(f frame) bool {
				return f.typ() == "AGENT_JOINED" && f.str("channel") == ch && f.str("agent") == alice.ID
			})
			require.Equal(t, "alice", j.str("name"))
			require.Equal(t, false, j["verified"])
		}
		online := bob.nextMatch("came online notice", func(f frame) bool {
			return msgFrom("@server")(f) && f.str("content") == "alice came online"
		})
		require.Equal(t, "Server", online.str("from_name"))
		require.Equal(t, "#general", online.str("to"))
		// The joiner gets no JOINED and no replay for auto-joined channels.
		alice.sync()
		alice.requireNone("JOINED after auto-join", isType("JOINED"))
		alice.requireNone("replay after auto-join", func(f frame) bool { return f["replay"] == true })

		// Ephemeral agents may talk (no lurk mode).
		alice.send(map[string]any{"type": "MSG", "to": "#general", "content": "hi from an ephemeral agent"})
		m := bob.nextMatch("MSG from alice", msgFrom(alice.ID))
		require.Equal(t, "hi from an ephemeral agent", m.str("content"))
		require.Equal(t, false, m["verified"])
	})

	t.Run("pubkey identify", func(t *testing.T) {
		n := startNode(t)
		priv, pem := newKey(t)
		c := n.dial(t)
		before := time.Now().UnixMilli()
		ch := c.requestChallenge("keyed", pem)
		require.Regexp(t, reChallengeID, ch.str("challenge_id"))
		require.Regexp(t, reNonce, ch.str("nonce"))
		exp, ok := ch["expires_at"].(float64)
		require.True(t, ok, "expires_at is a number: %v", ch)
		timeout := node.LocalConfig().ChallengeTimeout.Milliseconds()
		require.InDelta(t, float64(before+timeout), exp, 5000, "expires_at = now + challenge timeout")

		c.answer(ch, priv)
		w := c.next("WELCOME")
		require.Equal(t, "@"+identity.AgentID(pem), w.str("agent_id"))
		require.Equal(t, true, w["verified"], "passing the challenge makes an agent verified: %v", w)
		require.Equal(t, "keyed", w.str("name"))
		require.False(t, w.has("lurk"), "no lurk mode: %v", w)
	})

	t.Run("pubkey without trailing newline has its own id", func(t *testing.T) {
		n := startNode(t)
		priv, pem := newKey(t)
		trimmed := strings.TrimSuffix(pem, "\n")
		c := n.dial(t)
		c.answer(c.requestChallenge("dash", trimmed), priv)
		w := c.next("WELCOME")
		require.Equal(t, "@"+identity.AgentID(trimmed), w.str("agent_id"))
		require.NotEqual(t, "@"+identity.AgentID(pem), w.str("agent_id"))
	})

	t.Run("join answers JOINED and replays the buffer in order", func(t *testing.T) {
		n := startNode(t, noLimits)
		alice := n.newKeyAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		var live []frame
		for i := range 5 {
			alice.send(map[string]any{"type": "MSG", "to": "#general", "content": fmt.Sprintf("m%d", i), "sig": "c2ln"})
			m := bob.nextMatch("live MSG", msgFrom(alice.ID))
			require.Equal(t, fmt.Sprintf("m%d", i), m.str("content"))
			live = append(live, m)
		}

		carol := n.newAgent(t, "carol")
		carol.send(map[string]any{"type": "JOIN", "channel": "#general"})
		joined := carol.next("JOINED")
		require.Equal(t, "#general", joined.str("channel"))
		members := map[string]any{}
		for _, a := range joined["agents"].([]any) {
			m := a.(map[string]any)
			require.ElementsMatch(t, []string{"id", "name", "verified"}, keys(m))
			members[m["id"].(string)] = m
		}
		require.Equal(t, map[string]any{
			alice.ID: map[string]any{"id": alice.ID, "name": "alice", "verified": true},
			bob.ID:   map[string]any{"id": bob.ID, "name": "bob", "verified": false},
			carol.ID: map[string]any{"id": carol.ID, "name": "carol", "verified": false},
		}, members)

		for i := range 5 {
			r := carol.nextMatch("replayed MSG", msgFrom(alice.ID))
			require.Equal(t, true, r["replay"], "replayed frames carry replay:true: %v", r)
			require.Equal(t, fmt.Sprintf("m%d", i), r.str("content"), "replay keeps the order")
			require.Equal(t, live[i].str("msg_id"), r.str("msg_id"), "replay keeps msg_id")
			require.Equal(t, live[i]["ts"], r["ts"], "replay keeps the original ts")
			require.Equal(t, "c2ln", r.str("sig"))
			require.Greater(t, r.seq(), joined.seq(), "replay follows JOINED")
		}
		// A re-join is not announced to the others (the agent was a member).
		carol.sync()
		bob.sync()
		require.Equal(t, 1, bob.count(func(f frame) bool {
			return f.typ() == "AGENT_JOINED" && f.str("agent") == carol.ID && f.str("channel") == "#general"
		}), "only the auto-join is announced, not the explicit re-join")
	})

	t.Run("replay buffer keeps the last 20 messages", func(t *testing.T) {
		n := startNode(t, noLimits, func(c *node.Config) { c.Notices = false })
		alice := n.newAgent(t, "alice")
		for i := range 25 {
			alice.send(map[string]any{"type": "MSG", "to": "#general", "content": fmt.Sprintf("m%d", i)})
		}
		alice.sync()
		carol := n.newAgent(t, "carol")
		carol.send(map[string]any{"type": "JOIN", "channel": "#general"})
		carol.next("JOINED")
		carol.sync()
		replayed := carol.pending()
		var contents []string
		for _, f := range replayed {
			if f.typ() == "MSG" && f["replay"] == true {
				contents = append(contents, f.str("content"))
			}
		}
		var want []string
		for i := 5; i < 25; i++ {
			want = append(want, fmt.Sprintf("m%d", i))
		}
		require.Equal(t, want, contents)
	})

	t.Run("channel MSG reaches other members and is not echoed", func(t *testing.T) {
		n := startNode(t, noLimits)
		alice := n.newKeyAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		carol := n.newAgent(t, "carol")
		alice.send(map[string]any{"type": "MSG", "to": "#general", "content": "hello", "sig": "c2lnbmF0dXJl",
			"ts": 1700000000000, "in_reply_to": "123-abcdef"})
		for _, c := range []*client{bob, carol} {
			m := c.nextMatch("MSG from alice", msgFrom(alice.ID))
			require.Equal(t, "alice", m.str("from_name"))
			require.Equal(t, "#general", m.str("to"))
			require.Equal(t, "hello", m.str("content"))
			require.Regexp(t, reMsgID, m.str("msg_id"))
			require.Equal(t, true, m["verified"])
			require.Equal(t, "c2lnbmF0dXJl", m.str("sig"), "sig is passed through")
			require.Equal(t, float64(1700000000000), m["sig_ts"], "the ts the sig covers travels with it")
			require.Equal(t, "123-abcdef", m.str("in_reply_to"))
			require.False(t, m.has("replay"))
			require.IsType(t, float64(0), m["ts"])
		}
		alice.sync()
		alice.requireNone("echo of own channel MSG", msgFrom(alice.ID))

		bob.send(map[string]any{"type": "MSG", "to": "#agents", "content": "from bob"})
		m := alice.nextMatch("MSG from bob", msgFrom(bob.ID))
		require.Equal(t, false, m["verified"])
		require.False(t, m.has("sig"))
		bob.sync()
		bob.requireNone("echo of own channel MSG", msgFrom(bob.ID))
	})

	t.Run("content of exactly 4096 characters is delivered", func(t *testing.T) {
		n := startNode(t, noLimits)
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		content := strings.Repeat("é", 4096) // 4096 UTF-16 units, 8192 bytes
		alice.send(map[string]any{"type": "MSG", "to": "#general", "content": content})
		m := bob.nextMatch("MSG", msgFrom(alice.ID))
		require.Equal(t, content, m.str("content"))
	})

	t.Run("leave", func(t *testing.T) {
		n := startNode(t)
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		alice.send(map[string]any{"type": "LEAVE", "channel": "#agents"})
		l := alice.next("LEFT")
		require.Equal(t, "#agents", l.str("channel"))
		left := bob.nextMatch("AGENT_LEFT", typeFor("AGENT_LEFT", "agent", alice.ID))
		require.Equal(t, "#agents", left.str("channel"))
		require.Equal(t, "alice", left.str("name"), "LEAVE names the agent")

		// A channel left delivers nothing more.
		bob.send(map[string]any{"type": "MSG", "to": "#agents", "content": "after the leave"})
		bob.sync()
		alice.sync()
		alice.requireNone("MSG in a channel left", msgFrom(bob.ID))

		// Unknown channel: silently ignored (no reply).
		alice.send(map[string]any{"type": "LEAVE", "channel": "#nowhere"})
		alice.sync()
		alice.requireNone("reply to LEAVE of an unknown channel", func(f frame) bool { return f.typ() == "LEFT" || f.typ() == "ERROR" })
	})

	t.Run("membership news is scoped to channels within the presence limit", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.PresenceLimit = 2 })
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		alice.nextMatch("AGENT_JOINED bob", typeFor("AGENT_JOINED", "agent", bob.ID))
		carol := n.newAgent(t, "carol") // the third member: the channels are now large
		alice.sync()
		bob.sync()
		alice.requireNone("AGENT_JOINED in a large channel", typeFor("AGENT_JOINED", "agent", carol.ID))
		alice.requireNone("notice in a large channel", func(f frame) bool {
			return f.typ() == "MSG" && strings.Contains(f.str("content"), "carol")
		})
		dave := n.newAgent(t, "dave")
		dave.send(map[string]any{"type": "JOIN", "channel": "#general"})
		joined := dave.next("JOINED")
		require.EqualValues(t, 4, joined["total"], "JOINED of a large channel counts everyone")
		require.Len(t, joined["agents"], 3, "and lists the joiner and up to the limit of others")
		require.Equal(t, dave.ID, joined["agents"].([]any)[0].(map[string]any)["id"])
		dave.send(map[string]any{"type": "LIST_AGENTS", "channel": "#general"})
		require.Len(t, dave.next("AGENTS")["list"], 4, "LIST_AGENTS stays exact")
		dave.close()
		n.waitAgents(t, 3) // one departure at a time: the notice rule counts who is left
		carol.close()
		bob.nextMatch("carol's departure reached", func(f frame) bool { return f.typ() == "MSG" && f.str("content") == "carol went offline" })
		bob.requireNone("AGENT_LEFT in a large channel", typeFor("AGENT_LEFT", "agent", dave.ID))
		bob.requireNone("AGENT_LEFT in a large channel", typeFor("AGENT_LEFT", "agent", carol.ID))
		// Back within the limit, news flows again.
		bob.close()
		alice.nextMatch("AGENT_LEFT bob", typeFor("AGENT_LEFT", "agent", bob.ID))
	})

	t.Run("disconnect", func(t *testing.T) {
		n := startNode(t)
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		alice.close()
		for _, ch := range []string{"#general", "#agents", "#discovery"} {
			left := bob.nextMatch("AGENT_LEFT "+ch, func(f frame) bool {
				return f.typ() == "AGENT_LEFT" && f.str("agent") == alice.ID && f.str("channel") == ch
			})
			require.False(t, left.has("name"), "AGENT_LEFT on disconnect has no name: %v", left)
		}
		off := bob.nextMatch("went offline notice", msgFrom("@server"))
		for !strings.Contains(off.str("content"), "went offline") {
			off = bob.nextMatch("went offline notice", msgFrom("@server"))
		}
		require.Equal(t, "alice went offline", off.str("content"))
		require.Equal(t, "Server", off.str("from_name"))
		n.waitAgents(t, 1)
	})

	t.Run("direct message is delivered and echoed", func(t *testing.T) {
		n := startNode(t, noLimits)
		alice := n.newKeyAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		carol := n.newAgent(t, "carol")
		alice.send(map[string]any{"type": "MSG", "to": bob.ID, "content": "psst", "sig": "c2ln"})
		got := bob.nextMatch("DM", msgFrom(alice.ID))
		echo := alice.nextMatch("DM echo", msgFrom(alice.ID))
		for _, m := range []frame{got, echo} {
			require.Equal(t, bob.ID, m.str("to"))
			require.Equal(t, "psst", m.str("content"))
			require.Equal(t, "alice", m.str("from_name"))
			require.Equal(t, true, m["verified"])
			require.Equal(t, "c2ln", m.str("sig"))
			require.Regexp(t, reMsgID, m.str("msg_id"))
		}
		require.Equal(t, got.str("msg_id"), echo.str("msg_id"))
		carol.sync()
		carol.requireNone("DM seen by a third agent", msgFrom(alice.ID))

		// By exact name: the target is rewritten to @id.
		alice.send(map[string]any{"type": "MSG", "to": "@carol", "content": "by name"})
		m := carol.nextMatch("DM by name", msgFrom(alice.ID))
		require.Equal(t, carol.ID, m.str("to"))
		require.Equal(t, carol.ID, alice.nextMatch("DM echo", msgFrom(alice.ID)).str("to"))

		// DMs are not buffered: a later JOIN replays none of them.
		bob.send(map[string]any{"type": "JOIN", "channel": "#general"})
		bob.next("JOINED")
		bob.sync()
		bob.requireNone("replayed DM", func(f frame) bool { return f["replay"] == true && f.str("from") == alice.ID })
	})

	t.Run("file chunk is relayed to the target only", func(t *testing.T) {
		n := startNode(t)
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		alice.send(map[string]any{"type": "FILE_CHUNK", "to": bob.ID, "content": "chunk-1"})
		fc := bob.next("FILE_CHUNK")
		require.Equal(t, alice.ID, fc.str("from"))
		require.Equal(t, bob.ID, fc.str("to"))
		require.Equal(t, "chunk-1", fc.str("content"))
		alice.sync()
		alice.requireNone("FILE_CHUNK echo", isType("FILE_CHUNK"))
		// At most one chunk per 100 ms per connection.
		alice.send(map[string]any{"type": "FILE_CHUNK", "to": bob.ID, "content": "chunk-2"})
		alice.nextError("RATE_LIMITED", "File chunk rate limit (max 10/sec)")
	})

	t.Run("typing", func(t *testing.T) {
		n := startNode(t)
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		alice.send(map[string]any{"type": "TYPING", "channel": "#general"})
		ty := bob.next("TYPING")
		require.Equal(t, alice.ID, ty.str("from"))
		require.Equal(t, "alice", ty.str("from_name"))
		require.Equal(t, "#general", ty.str("channel"))
		alice.send(map[string]any{"type": "TYPING", "channel": "#nope"}) // dropped silently
		alice.sync()
		alice.requireNone("TYPING echo or error", func(f frame) bool { return f.typ() == "TYPING" || f.typ() == "ERROR" })
		anon := n.dial(t)
		anon.send(map[string]any{"type": "TYPING", "channel": "#general"})
		anon.sync()
		anon.requireNone("answer to an unidentified TYPING", isType("ERROR"))
		bob.sync()
		bob.requireNone("TYPING from an unidentified socket", func(f frame) bool { return f.typ() == "TYPING" && f.str("from") != alice.ID })
	})

	t.Run("floor control", func(t *testing.T) {
		n := startNode(t, noLimits)
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		carol := n.newAgent(t, "carol")
		claim := func(c *client, startedAt float64) {
			c.send(map[string]any{"type": "RESPONDING_TO", "msg_id": "1-abcdef", "channel": "#general", "started_at": startedAt})
		}
		claimed := func(c *client, holder *client) frame {
			f := c.nextMatch("FLOOR_CLAIMED by "+holder.Name, typeFor("FLOOR_CLAIMED", "holder", holder.ID))
			require.Equal(t, "1-abcdef", f.str("msg_id"))
			require.Equal(t, "#general", f.str("channel"))
			require.Equal(t, holder.Name, f.str("holder_name"))
			return f
		}

		claim(alice, 100) // no claim yet: granted
		for _, c := range []*client{bob, carol} {
			require.Equal(t, float64(100), claimed(c, alice)["started_at"])
		}
		alice.sync()
		alice.requireNone("FLOOR_CLAIMED to the claimant", isType("FLOOR_CLAIMED"))

		claim(bob, 200) // later start: denied
		y := bob.next("YIELD")
		require.Equal(t, alice.ID, y.str("holder"))
		require.Equal(t, float64(100), y["holder_started_at"])
		require.Equal(t, "Another agent claimed first", y.str("reason"))

		claim(alice, 100) // the holder again: denied too
		require.Equal(t, "Another agent claimed first", alice.next("YIELD").str("reason"))

		claim(carol, 50) // earlier start: granted, the previous holder yields
		claimed(alice, carol)
		claimed(bob, carol)
		y = alice.next("YIELD")
		require.Equal(t, carol.ID, y.str("holder"))
		require.Equal(t, float64(50), y["holder_started_at"])
		require.Equal(t, "Earlier started_at timestamp", y.str("reason"))

		// A MSG from the holder to the channel releases the claim.
		carol.send(map[string]any{"type": "MSG", "to": "#general", "content": "my answer"})
		bob.nextMatch("MSG", msgFrom(carol.ID))
		claim(bob, 300)
		claimed(carol, bob)

		// Unidentified sockets are ignored.
		anon := n.dial(t)
		claim(anon, 1)
		anon.sync()
		anon.requireNone("answer to an unidentified RESPONDING_TO", func(f frame) bool { return f.typ() == "ERROR" || f.typ() == "YIELD" })
	})

	t.Run("direct message to an unknown agent", func(t *testing.T) {
		n := startNode(t)
		alice := n.newAgent(t, "alice")
		alice.send(map[string]any{"type": "MSG", "to": "@zzzzzzzz", "content": "anyone?"})
		alice.nextError("AGENT_NOT_FOUND", "")
	})

	t.Run("list agents", func(t *testing.T) {
		n := startNode(t)
		alice := n.newKeyAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		bob.send(map[string]any{"type": "LIST_AGENTS", "channel": "#general"})
		f := bob.next("AGENTS")
		require.Equal(t, "#general", f.str("channel"))
		list := map[string]any{}
		for _, e := range f["list"].([]any) {
			m := e.(map[string]any)
			list[m["id"].(string)] = m
		}
		require.Equal(t, map[string]any{
			alice.ID: map[string]any{"id": alice.ID, "name": "alice", "presence": "online", "status_text": nil, "verified": true},
			bob.ID:   map[string]any{"id": bob.ID, "name": "bob", "presence": "online", "status_text": nil, "verified": false},
		}, list)

		bob.send(map[string]any{"type": "LIST_AGENTS", "channel": "#nope"})
		bob.nextError("CHANNEL_NOT_FOUND", "Channel #nope not found")
	})

	t.Run("set presence", func(t *testing.T) {
		n := startNode(t)
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		alice.send(map[string]any{"type": "SET_PRESENCE", "status": "away", "status_text": "brb"})
		p := bob.nextMatch("PRESENCE_CHANGED", typeFor("PRESENCE_CHANGED", "agent_id", alice.ID))
		require.Equal(t, "alice", p.str("name"))
		require.Equal(t, "away", p.str("presence"))
		require.Equal(t, "brb", p.str("status_text"))
		alice.sync()
		alice.requireNone("PRESENCE_CHANGED to self", isType("PRESENCE_CHANGED"))
		bob.sync()
		// Three shared channels, one notice (deduplicated).
		bob.requireNone("duplicate PRESENCE_CHANGED", isType("PRESENCE_CHANGED"))

		bob.send(map[string]any{"type": "LIST_AGENTS", "channel": "#general"})
		for _, e := range bob.next("AGENTS")["list"].([]any) {
			if m := e.(map[string]any); m["id"] == alice.ID {
				require.Equal(t, "away", m["presence"])
				require.Equal(t, "brb", m["status_text"])
			}
		}

		// Empty status_text clears it to null.
		alice.send(map[string]any{"type": "SET_PRESENCE", "status": "online", "status_text": ""})
		p = bob.nextMatch("PRESENCE_CHANGED", typeFor("PRESENCE_CHANGED", "agent_id", alice.ID))
		require.Equal(t, "online", p.str("presence"))
		require.True(t, p.has("status_text"))
		require.Nil(t, p["status_text"])
	})

	t.Run("set nick", func(t *testing.T) {
		n := startNode(t)
		alice := n.newAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		alice.send(map[string]any{"type": "SET_NICK", "nick": "neo"})
		for _, c := range []*client{bob, alice} {
			nc := c.nextMatch("NICK_CHANGED", typeFor("NICK_CHANGED", "agent_id", alice.ID))
			require.Equal(t, "alice", nc.str("old_nick"))
			require.Equal(t, "neo", nc.str("new_nick"))
		}
		// Once per shared channel, and the agent once more (§10.2).
		alice.sync()
		bob.sync()
		isNick := typeFor("NICK_CHANGED", "agent_id", alice.ID)
		require.Equal(t, 2, bob.count(isNick), "bob shares 3 channels with alice")
		require.Equal(t, 3, alice.count(isNick), "alice is in 3 channels, plus her own copy")
		alice.send(map[string]any{"type": "MSG", "to": "#general", "content": "I am neo"})
		require.Equal(t, "neo", bob.nextMatch("MSG", msgFrom(alice.ID)).str("from_name"))
	})

	t.Run("reserved nick", func(t *testing.T) {
		n := startNode(t)
		alice := n.newAgent(t, "alice")
		alice.send(map[string]any{"type": "SET_NICK", "nick": "Admin"})
		alice.nextError("INVALID_NAME", `Nick "Admin" is reserved`)
		alice.send(map[string]any{"type": "SET_NICK", "nick": "server"})
		alice.nextError("INVALID_NAME", `Nick "server" is reserved`)
	})

	t.Run("create channel", func(t *testing.T) {
		n := startNode(t)
		alice := n.newKeyAgent(t, "alice")
		bob := n.newAgent(t, "bob")

		alice.send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#proj"})
		j := alice.next("JOINED")
		require.Equal(t, "#proj", j.str("channel"))
		require.Equal(t, []any{alice.ID}, j["agents"], "CREATE_CHANNEL answers agents as @id strings")
		alice.sync()
		alice.requireNone("replay on create", func(f frame) bool { return f["replay"] == true })

		alice.send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#proj"})
		alice.nextError("CHANNEL_EXISTS", "")
		alice.send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#general"})
		alice.nextError("CHANNEL_EXISTS", "")

		bob.send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#bobs"})
		bob.nextError("AUTH_REQUIRED", "Only verified agents can create channels")

		bob.send(map[string]any{"type": "LIST_CHANNELS"})
		var names []string
		for _, e := range bob.next("CHANNELS")["list"].([]any) {
			names = append(names, e.(map[string]any)["name"].(string))
		}
		require.Equal(t, []string{"#general", "#agents", "#discovery", "#proj"}, names)

		// Others can join a public created channel and talk in it.
		bob.send(map[string]any{"type": "JOIN", "channel": "#proj"})
		bob.next("JOINED")
		alice.nextMatch("AGENT_JOINED #proj", func(f frame) bool {
			return f.typ() == "AGENT_JOINED" && f.str("agent") == bob.ID && f.str("channel") == "#proj"
		})
		for _, c := range []*client{alice, bob} {
			c.nextMatch("joined notice", func(f frame) bool {
				return msgFrom("@server")(f) && f.str("to") == "#proj" && f.str("content") == "bob joined #proj"
			})
		}
	})

	t.Run("invite-only channel", func(t *testing.T) {
		n := startNode(t)
		alice := n.newKeyAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		carol := n.newAgent(t, "carol")

		alice.send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#secret", "invite_only": true})
		require.Equal(t, []any{alice.ID}, alice.next("JOINED")["agents"])

		bob.send(map[string]any{"type": "JOIN", "channel": "#secret"})
		bob.nextError("NOT_INVITED", "")

		carol.send(map[string]any{"type": "INVITE", "channel": "#secret", "agent": bob.ID})
		carol.nextError("NOT_INVITED", "Not a member of #secret")

		alice.send(map[string]any{"type": "INVITE", "channel": "#secret", "agent": bob.ID})
		inv := bob.nextMatch("invite notice", msgFrom(alice.ID))
		require.Equal(t, "You have been invited to #secret", inv.str("content"))
		require.Equal(t, bob.ID, inv.str("to"))
		require.Equal(t, "alice", inv.str("from_name"))
		alice.sync()
		alice.requireNone("reply to INVITE", func(f frame) bool { return f.typ() == "ERROR" || msgFrom(alice.ID)(f) })

		bob.send(map[string]any{"type": "JOIN", "channel": "#secret"})
		j := bob.next("JOINED")
		require.Equal(t, "#secret", j.str("channel"))
		require.Len(t, j["agents"], 2)

		bob.send(map[string]any{"type": "LIST_CHANNELS"})
		for _, e := range bob.next("CHANNELS")["list"].([]any) {
			require.NotEqual(t, "#secret", e.(map[string]any)["name"], "LIST_CHANNELS omits invite-only channels")
		}
		status, _, body := httpGet(t, "GET", "http://"+n.Addr+"/health")
		require.Equal(t, 200, status)
		var h map[string]any
		require.NoError(t, json.Unmarshal(body, &h))
		require.Equal(t, map[string]any{"total": float64(4), "public": float64(3)}, h["channels"])

		// Still closed to the uninvited.
		carol.send(map[string]any{"type": "JOIN", "channel": "#secret"})
		carol.nextError("NOT_INVITED", "")
	})

	t.Run("verified-only channel", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.VerifiedOnlyChannels = []string{"#ops"} })
		alice := n.newKeyAgent(t, "alice")
		bob := n.newAgent(t, "bob")
		bob.send(map[string]any{"type": "JOIN", "channel": "#ops"})
		require.Contains(t, bob.nextError("AUTH_REQUIRED", "").str("message"), "requires verified identity")
		// A verified agent was auto-joined: a re-join answers JOINED listing it.
		alice.send(map[string]any{"type": "JOIN", "channel": "#ops"})
		require.Len(t, alice.next("JOINED")["agents"], 1)
		bob.send(map[string]any{"type": "LIST_CHANNELS"})
		require.Contains(t, bob.next("CHANNELS")["list"], map[string]any{"name": "#ops", "agents": float64(1), "verifiedOnly": true})
	})

	t.Run("private channels disabled", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.PrivateChannels = false })
		anon := n.dial(t)
		anon.send(map[string]any{"type": "INVITE", "channel": "#general", "agent": "@abcdefgh"})
		anon.nextError("INVALID_MSG", "Private channels are disabled on this server")
		alice := n.newKeyAgent(t, "alice")
		alice.send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#secret", "invite_only": true})
		alice.nextError("INVALID_MSG", "Private channels are disabled on this server")
		alice.send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#open"})
		require.Equal(t, "#open", alice.next("JOINED").str("channel"))
	})

	t.Run("verified takeover displaces the old session", func(t *testing.T) {
		n := startNode(t)
		priv, _ := newKey(t)
		watcher := n.newAgent(t, "watcher")
		old := n.dial(t)
		old.identifyKey("agent", priv)
		inGeneral := func(typ string) func(frame) bool {
			return func(f frame) bool {
				return f.typ() == typ && f.str("agent") == old.ID && f.str("channel") == "#general"
			}
		}
		watcher.nextMatch("AGENT_JOINED of the old session", inGeneral("AGENT_JOINED"))

		fresh := n.dial(t)
		w := fresh.identifyKey("agent", priv)
		require.Equal(t, old.ID, w.str("agent_id"))
		require.Equal(t, true, w["verified"])

		d := old.next("SESSION_DISPLACED")
		require.Contains(t, d.str("reason"), "Another connection")
		require.NotEmpty(t, d.str("new_ip"))
		ce := old.closeError()
		require.Equal(t, 1000, ce.Code)
		require.Equal(t, "Identity claimed by verified connection", ce.Text)

		// Others saw the old session leave and the new one arrive.
		left := watcher.nextMatch("AGENT_LEFT of the old session", inGeneral("AGENT_LEFT"))
		joined := watcher.nextMatch("AGENT_JOINED of the new session", inGeneral("AGENT_JOINED"))
		require.Greater(t, joined.seq(), left.seq(), "the old session leaves before the new one joins")
		n.waitAgents(t, 2)
		fresh.send(map[string]any{"type": "MSG", "to": "#general", "content": "I am back"})
		require.Equal(t, "I am back", watcher.nextMatch("MSG", msgFrom(fresh.ID)).str("content"))
	})

	t.Run("failed takeover leaves the old session alone", func(t *testing.T) {
		n := startNode(t)
		priv, pem := newKey(t)
		wrong, _ := newKey(t)
		old := n.dial(t)
		old.identifyKey("agent", priv)

		thief := n.dial(t)
		thief.answer(thief.requestChallenge("agent", pem), wrong)
		thief.nextError("VERIFICATION_FAILED", "Invalid signature")

		old.sync()
		old.requireNone("SESSION_DISPLACED", isType("SESSION_DISPLACED"))
		n.waitAgents(t, 1)
		// The thief's socket stays open and unidentified: it may try again.
		thief.sync()
		ch := thief.requestChallenge("agent", pem)
		require.Regexp(t, reChallengeID, ch.str("challenge_id"))
		old.send(map[string]any{"type": "LIST_AGENTS", "channel": "#general"})
		require.Len(t, old.next("AGENTS")["list"], 1)
	})

	t.Run("peer verification", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.VerifyTimeout = time.Second })
		alice := n.newAgent(t, "alice")
		bob := n.newKeyAgent(t, "bob")
		nonce := "0123456789abcdef0123"

		// Success.
		alice.send(map[string]any{"type": "VERIFY_REQUEST", "target": bob.ID, "nonce": nonce})
		ack := alice.next("VERIFY_REQUEST")
		require.Regexp(t, reVerifyID, ack.str("request_id"))
		require.Equal(t, bob.ID, ack.str("target"))
		require.Equal(t, "pending", ack.str("status"))
		req := bob.next("VERIFY_REQUEST")
		require.Equal(t, ack.str("request_id"), req.str("request_id"))
		require.Equal(t, alice.ID, req.str("from"))
		require.Equal(t, nonce, req.str("nonce"))
		bob.send(map[string]any{"type": "VERIFY_RESPONSE", "request_id": req.str("request_id"), "nonce": nonce,
			"sig": identity.Sign(bob.Priv, nonce)})
		ok := alice.next("VERIFY_SUCCESS")
		require.Equal(t, req.str("request_id"), ok.str("request_id"))
		require.Equal(t, bob.ID, ok.str("agent"))
		require.Equal(t, bob.PEM, ok.str("pubkey"))
		mine := bob.next("VERIFY_SUCCESS")
		require.Equal(t, true, mine["verified"])

		// The request is gone once answered.
		bob.send(map[string]any{"type": "VERIFY_RESPONSE", "request_id": req.str("request_id"), "nonce": nonce,
			"sig": identity.Sign(bob.Priv, nonce)})
		bob.nextError("VERIFICATION_EXPIRED", "")

		// Failure: signed with another key.
		other, _ := newKey(t)
		alice.send(map[string]any{"type": "VERIFY_REQUEST", "target": bob.ID, "nonce": nonce})
		alice.next("VERIFY_REQUEST")
		req = bob.next("VERIFY_REQUEST")
		bob.send(map[string]any{"type": "VERIFY_RESPONSE", "request_id": req.str("request_id"), "nonce": nonce,
			"sig": identity.Sign(other, nonce)})
		failed := alice.next("VERIFY_FAILED")
		require.Equal(t, req.str("request_id"), failed.str("request_id"))
		require.Equal(t, bob.ID, failed.str("target"))
		require.Equal(t, "Signature verification failed", failed.str("reason"))
		require.Equal(t, false, bob.next("VERIFY_FAILED")["verified"])

		// Nonce mismatch and a responder that is not the target.
		alice.send(map[string]any{"type": "VERIFY_REQUEST", "target": bob.ID, "nonce": nonce})
		alice.next("VERIFY_REQUEST")
		req = bob.next("VERIFY_REQUEST")
		bob.send(map[string]any{"type": "VERIFY_RESPONSE", "request_id": req.str("request_id"), "nonce": nonce + "x",
			"sig": identity.Sign(bob.Priv, nonce+"x")})
		bob.nextError("INVALID_MSG", "Nonce mismatch")
		carol := n.newKeyAgent(t, "carol")
		carol.send(map[string]any{"type": "VERIFY_RESPONSE", "request_id": req.str("request_id"), "nonce": nonce,
			"sig": identity.Sign(carol.Priv, nonce)})
		carol.nextError("INVALID_MSG", "")

		// Unanswered: the requester is told it timed out.
		timedOut := alice.next("VERIFY_FAILED")
		require.Equal(t, req.str("request_id"), timedOut.str("request_id"))
		require.Equal(t, "Verification timed out", timedOut.str("reason"))

		// Errors to the requester.
		alice.send(map[string]any{"type": "VERIFY_REQUEST", "target": "@0123456789abcdef", "nonce": nonce})
		alice.nextError("AGENT_NOT_FOUND", "")
		eph := n.newAgent(t, "eph")
		alice.send(map[string]any{"type": "VERIFY_REQUEST", "target": eph.ID, "nonce": nonce})
		alice.nextError("NO_PUBKEY", "")
		// An ephemeral agent cannot answer.
		eph.send(map[string]any{"type": "VERIFY_RESPONSE", "request_id": "verify_x_00000000", "nonce": nonce, "sig": "c2ln"})
		eph.nextError("SIGNATURE_REQUIRED", "")
	})

	t.Run("allowlist", func(t *testing.T) {
		n := startNode(t, noLimits, func(c *node.Config) { c.Allowlist, c.AllowlistStrict, c.AdminKey = true, true, "k" })
		priv, pem := newKey(t)
		id := identity.AgentID(pem)

		c := n.dial(t)
		c.send(map[string]any{"type": "IDENTIFY", "name": "agent", "pubkey": pem})
		c.nextError("NOT_ALLOWED", "pubkey not in allowlist")
		c.send(map[string]any{"type": "IDENTIFY", "name": "agent"})
		c.nextError("NOT_ALLOWED", "ephemeral connections blocked in strict mode")
		c.sync() // the socket stays open

		admin := n.dial(t)
		admin.send(map[string]any{"type": "ADMIN_APPROVE", "pubkey": pem, "admin_key": "wrong", "note": "n"})
		admin.nextError("AUTH_REQUIRED", "")
		admin.send(map[string]any{"type": "ADMIN_APPROVE", "pubkey": pem, "admin_key": "k", "note": "trusted"})
		r := admin.next("ADMIN_RESULT")
		require.Equal(t, "approve", r.str("action"))
		require.Equal(t, true, r["success"])
		require.Equal(t, "@"+id, r.str("agentId"))

		w := c.identifyKey("agent", priv)
		require.Equal(t, "@"+id, w.str("agent_id"))
		require.Equal(t, true, w["verified"])

		admin.send(map[string]any{"type": "ADMIN_LIST", "admin_key": "wrong"})
		admin.nextError("AUTH_REQUIRED", "")
		admin.send(map[string]any{"type": "ADMIN_LIST", "admin_key": "k"})
		l := admin.next("ADMIN_RESULT")
		require.Equal(t, "list", l.str("action"))
		require.Equal(t, true, l["enabled"])
		require.Equal(t, true, l["strict"])
		entries := l["entries"].([]any)
		require.Len(t, entries, 1)
		e := entries[0].(map[string]any)
		require.Equal(t, "@"+id, e["agentId"])
		require.Equal(t, pem[:40]+"...", e["pubkeyPrefix"])
		require.Equal(t, "trusted", e["note"])
		_, err := time.Parse(time.RFC3339, e["approvedAt"].(string))
		require.NoError(t, err)

		admin.send(map[string]any{"type": "ADMIN_REVOKE", "pubkey": pem, "admin_key": "wrong"})
		admin.nextError("AUTH_REQUIRED", "")
		admin.send(map[string]any{"type": "ADMIN_REVOKE", "pubkey": pem, "admin_key": "k"})
		rv := admin.next("ADMIN_RESULT")
		require.Equal(t, "revoke", rv.str("action"))
		require.Equal(t, true, rv["success"])
		admin.send(map[string]any{"type": "ADMIN_REVOKE", "agent_id": id, "admin_key": "k"})
		admin.nextError("AGENT_NOT_FOUND", "not found")

		again := n.dial(t)
		again.send(map[string]any{"type": "IDENTIFY", "name": "agent", "pubkey": pem})
		again.nextError("NOT_ALLOWED", "pubkey not in allowlist")

		// Revoke by agent ID.
		admin.send(map[string]any{"type": "ADMIN_APPROVE", "pubkey": pem, "admin_key": "k"})
		admin.next("ADMIN_RESULT")
		admin.send(map[string]any{"type": "ADMIN_REVOKE", "agent_id": id, "admin_key": "k"})
		require.Equal(t, "revoke", admin.next("ADMIN_RESULT").str("action"))
	})

	t.Run("allowlist survives a restart", func(t *testing.T) {
		dir := t.TempDir()
		allow := func(c *node.Config) { c.Allowlist, c.AllowlistStrict, c.AdminKey = true, true, "k" }
		priv, pem := newKey(t)

		first := startNodeAt(t, dir, allow)
		admin := first.dial(t)
		admin.send(map[string]any{"type": "ADMIN_APPROVE", "pubkey": pem, "admin_key": "k"})
		require.Equal(t, "approve", admin.next("ADMIN_RESULT").str("action"))
		admin.close()
		require.NoError(t, first.stop())

		second := startNodeAt(t, dir, allow)
		w := second.dial(t).identifyKey("agent", priv)
		require.Equal(t, "@"+identity.AgentID(pem), w.str("agent_id"))
		require.Equal(t, true, w["verified"])
		_, otherPEM := newKey(t)
		c := second.dial(t)
		c.send(map[string]any{"type": "IDENTIFY", "name": "stranger", "pubkey": otherPEM})
		c.nextError("NOT_ALLOWED", "pubkey not in allowlist")
	})

	t.Run("admin kick", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.AdminKey = "k" })
		target := n.newKeyAgent(t, "target")
		watcher := n.newAgent(t, "watcher")
		admin := n.dial(t)

		admin.send(map[string]any{"type": "ADMIN_KICK", "agent_id": target.ID, "admin_key": "wrong"})
		admin.nextError("AUTH_REQUIRED", "Invalid admin key")
		admin.send(map[string]any{"type": "ADMIN_KICK", "agent_id": "@0123456789abcdef", "admin_key": "k"})
		admin.nextError("AGENT_NOT_FOUND", "")

		admin.send(map[string]any{"type": "ADMIN_KICK", "agent_id": target.ID, "admin_key": "k"})
		k := target.next("KICKED")
		require.Equal(t, "Kicked by admin", k.str("reason"))
		ce := target.closeError()
		require.Equal(t, 1000, ce.Code)
		require.Equal(t, "Kicked by admin", ce.Text)
		r := admin.next("ADMIN_RESULT")
		require.Equal(t, "kick", r.str("action"))
		require.Equal(t, true, r["success"])
		require.Equal(t, target.ID, r.str("agentId"))
		watcher.nextMatch("AGENT_LEFT", typeFor("AGENT_LEFT", "agent", target.ID))
		n.waitAgents(t, 1)

		// A kick is not a ban: the agent can come back; @ is optional.
		back := n.dial(t)
		back.identifyKey("target", target.Priv)
		admin.send(map[string]any{"type": "ADMIN_KICK", "agent_id": strings.TrimPrefix(back.ID, "@"), "admin_key": "k", "reason": "bye"})
		require.Equal(t, "bye", back.next("KICKED").str("reason"))
		require.Equal(t, 1000, back.closeCode())
	})

	t.Run("admin ban persists", func(t *testing.T) {
		dir := t.TempDir()
		withKey := func(c *node.Config) { c.AdminKey = "k" }
		n := startNodeAt(t, dir, withKey)
		target := n.newKeyAgent(t, "target")
		admin := n.dial(t)

		admin.send(map[string]any{"type": "ADMIN_BAN", "agent_id": target.ID, "admin_key": "wrong"})
		admin.nextError("AUTH_REQUIRED", "")
		admin.send(map[string]any{"type": "ADMIN_BAN", "agent_id": target.ID, "admin_key": "k", "reason": "spam"})
		require.Equal(t, "spam", target.next("BANNED").str("reason"))
		ce := target.closeError()
		require.Equal(t, 1000, ce.Code)
		require.Equal(t, "Banned by admin", ce.Text)
		r := admin.next("ADMIN_RESULT")
		require.Equal(t, "ban", r.str("action"))
		require.Equal(t, true, r["success"])
		require.Equal(t, target.ID, r.str("agentId"))

		tryBanned := func(n *testNode) {
			t.Helper()
			c := n.dial(t)
			c.answer(c.requestChallenge("target", target.PEM), target.Priv)
			c.nextError("BANNED", "spam")
			ce := c.closeError()
			require.Equal(t, 1000, ce.Code)
			require.Equal(t, "Banned", ce.Text)
		}
		tryBanned(n)

		admin.close()
		require.NoError(t, n.stop())
		n = startNodeAt(t, dir, withKey)
		tryBanned(n)

		admin = n.dial(t)
		admin.send(map[string]any{"type": "ADMIN_UNBAN", "agent_id": target.ID, "admin_key": "wrong"})
		admin.nextError("AUTH_REQUIRED", "")
		admin.send(map[string]any{"type": "ADMIN_UNBAN", "agent_id": target.ID, "admin_key": "k"})
		u := admin.next("ADMIN_RESULT")
		require.Equal(t, "unban", u.str("action"))
		require.Equal(t, true, u["success"])
		require.Equal(t, target.ID, u.str("agentId"))
		admin.send(map[string]any{"type": "ADMIN_UNBAN", "agent_id": target.ID, "admin_key": "k"})
		admin.nextError("AGENT_NOT_FOUND", "agent not banned")

		w := n.dial(t).identifyKey("target", target.Priv)
		require.Equal(t, target.ID, w.str("agent_id"))

		// Banning an offline ID works and uses the default reason.
		_, otherPEM := newKey(t)
		admin.send(map[string]any{"type": "ADMIN_BAN", "agent_id": identity.AgentID(otherPEM), "admin_key": "k"})
		require.Equal(t, "ban", admin.next("ADMIN_RESULT").str("action"))
	})

	t.Run("admin motd", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.AdminKey = "k" })
		agent := n.newAgent(t, "agent")
		lurker := n.dial(t) // connected, never identified
		lurker.sync()
		admin := n.dial(t)

		admin.send(map[string]any{"type": "ADMIN_MOTD", "admin_key": "wrong", "motd": "x"})
		admin.nextError("AUTH_REQUIRED", "Invalid admin key")
		admin.send(map[string]any{"type": "ADMIN_MOTD", "admin_key": "k", "motd": "be kind"})
		for _, c := range []*client{agent, lurker, admin} {
			require.Equal(t, "be kind", c.next("MOTD_UPDATE").str("motd"))
		}
		r := admin.next("ADMIN_RESULT")
		require.Equal(t, "motd", r.str("action"))
		require.Equal(t, true, r["success"])
		require.Equal(t, "be kind", r.str("motd"))
		require.Equal(t, false, r["kicked"])

		w := n.dial(t).identify("late")
		require.Equal(t, "be kind", w.str("motd"), "WELCOME carries the MOTD")

		admin.send(map[string]any{"type": "ADMIN_MOTD", "admin_key": "k", "motd": nil})
		m := agent.next("MOTD_UPDATE")
		require.True(t, m.has("motd"))
		require.Nil(t, m["motd"])
	})

	t.Run("admin motd with kick", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.AdminKey = "k" })
		agent := n.newAgent(t, "agent")
		lurker := n.dial(t)
		lurker.sync()
		admin := n.dial(t)
		admin.send(map[string]any{"type": "ADMIN_MOTD", "admin_key": "k", "motd": "maintenance", "kick": true})
		r := admin.next("ADMIN_RESULT")
		require.Equal(t, "motd", r.str("action"))
		require.Equal(t, true, r["kicked"])
		for _, c := range []*client{agent, lurker} {
			require.Equal(t, "maintenance", c.next("MOTD_UPDATE").str("motd"))
			ce := c.closeError()
			require.Equal(t, 1001, ce.Code)
			require.Equal(t, "Server maintenance", ce.Text)
		}
		admin.sync() // the admin stays
	})

	t.Run("admin verify", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.AdminKey = "k" })
		target := n.newAgent(t, "target")
		admin := n.dial(t)

		admin.send(map[string]any{"type": "ADMIN_VERIFY", "admin_key": "wrong", "agent_id": target.ID, "verified": true})
		admin.nextError("AUTH_REQUIRED", "")
		admin.send(map[string]any{"type": "ADMIN_VERIFY", "admin_key": "k", "agent_id": "@zzzzzzzz", "verified": true})
		admin.nextError("AGENT_NOT_FOUND", "")

		admin.send(map[string]any{"type": "ADMIN_VERIFY", "admin_key": "k", "agent_id": target.ID, "verified": true})
		tr := target.next("ADMIN_RESULT")
		require.Equal(t, "verify", tr.str("action"))
		require.Equal(t, true, tr["success"])
		require.Equal(t, true, tr["verified"])
		require.NotEmpty(t, tr.str("note"))
		ar := admin.next("ADMIN_RESULT")
		require.Equal(t, "verify", ar.str("action"))
		require.Equal(t, true, ar["success"])
		require.Equal(t, target.ID, ar.str("agentId"))
		require.Equal(t, true, ar["verified"])

		// Verified now: it may create channels.
		target.send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#mine"})
		require.Equal(t, []any{target.ID}, target.next("JOINED")["agents"])
	})

	// ADMIN_VERIFY runs on the admin's connection and changes the target's
	// verified flag while the target's own connection reads it. Under -race
	// this must stay quiet.
	t.Run("admin verify does not race with frames of the target", func(t *testing.T) {
		n := startNode(t, noLimits, func(c *node.Config) { c.AdminKey = "k" })
		target := n.newAgent(t, "target")
		admin := n.newAgent(t, "admin")
		for i := range 500 {
			admin.send(map[string]any{"type": "ADMIN_VERIFY", "admin_key": "k", "agent_id": target.ID, "verified": i%2 == 0})
			target.send(map[string]any{"type": "CREATE_CHANNEL", "channel": fmt.Sprintf("#c%d", i)})
		}
		target.sync()
		admin.sync()
	})

	t.Run("admin frames without configuration", func(t *testing.T) {
		n := startNode(t)
		admin := n.dial(t)
		_, pem := newKey(t)
		admin.send(map[string]any{"type": "ADMIN_APPROVE", "pubkey": pem, "admin_key": "k"})
		admin.nextError("INVALID_MSG", "Allowlist not configured")
		admin.send(map[string]any{"type": "ADMIN_KICK", "agent_id": "@abcdefgh", "admin_key": "k"})
		admin.nextError("INVALID_MSG", "Moderation not configured (no admin key)")
		admin.send(map[string]any{"type": "ADMIN_MOTD", "admin_key": "k", "motd": "x"})
		admin.nextError("AUTH_REQUIRED", "")
	})

	t.Run("graceful shutdown closes every client with 1001", func(t *testing.T) {
		n := startNode(t)
		unidentified := n.dial(t)
		unidentified.sync()
		pending := n.dial(t)
		_, pem := newKey(t)
		pending.requestChallenge("pending", pem)
		eph := n.newAgent(t, "eph")
		keyed := n.newKeyAgent(t, "keyed")

		n.cancel()
		for _, c := range []*client{unidentified, pending, eph, keyed} {
			ce := c.closeError()
			require.Equal(t, 1001, ce.Code)
			require.Equal(t, "Server shutting down", ce.Text)
		}
		require.NoError(t, n.stop(), "Run returns nil after a clean shutdown")
		_, _, err := (&websocket.Dialer{HandshakeTimeout: time.Second}).Dial(n.URL, nil)
		require.Error(t, err, "nothing listens after shutdown")
	})

	t.Run("Close stops a running node", func(t *testing.T) {
		n := startNode(t)
		c := n.newAgent(t, "agent")
		require.NoError(t, n.Srv.Close())
		require.Equal(t, 1001, c.closeCode())
		require.NoError(t, n.Srv.Close(), "Close is idempotent")
		require.NoError(t, n.stop())
	})

	t.Run("unidentified sockets time out", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.IdentifyTimeout = 500 * time.Millisecond })
		idle := n.dial(t)
		agent := n.newAgent(t, "agent")
		ce := idle.closeError()
		require.Equal(t, 1000, ce.Code)
		require.Equal(t, "Identify timeout", ce.Text)
		agent.sync() // identified sockets stay
	})

	t.Run("slow consumer is closed with 1013", func(t *testing.T) {
		// The write timeout outlasts the burst, so the node is still waiting
		// to write when the reader comes back (slow under -race).
		reg := prometheus.NewRegistry()
		n := startNode(t, noLimits, func(c *node.Config) { c.SendQueue, c.WriteTimeout, c.Metrics = 8, 2*time.Minute, reg })
		// A raw socket that stops reading after WELCOME, with a small fixed
		// receive buffer so the node's writes back up quickly.
		d := dialer
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				err = c.(*net.TCPConn).SetReadBuffer(4096)
			}
			return c, err
		}
		slow, _, err := d.Dial(n.URL, nil)
		require.NoError(t, err)
		t.Cleanup(func() { slow.Close() })
		require.NoError(t, slow.WriteMessage(websocket.TextMessage, []byte(`{"type":"IDENTIFY","name":"slow"}`)))
		sender := n.newAgent(t, "sender")
		// Enough 4 KiB messages to fill the node's socket send buffer (at
		// most 4 MiB here) and then the 8-frame queue.
		content := strings.Repeat("x", 4000)
		for range 2000 {
			sender.send(map[string]any{"type": "MSG", "to": "#general", "content": content})
		}
		// A barrier with room for the backlog (slow under -race).
		sender.send(map[string]any{"type": "PING"})
		sender.nextMatchWithin("PONG after the burst", isType("PONG"), time.Minute)
		// Now drain: what was buffered arrives, then the close. A larger
		// receive buffer opens the TCP window again, so the megabytes the
		// node holds drain quickly.
		require.NoError(t, slow.UnderlyingConn().(*net.TCPConn).SetReadBuffer(1<<20))
		require.NoError(t, slow.SetReadDeadline(time.Now().Add(time.Minute)))
		var rerr error
		for rerr == nil {
			_, _, rerr = slow.ReadMessage()
		}
		var ce *websocket.CloseError
		require.True(t, errors.As(rerr, &ce), "read ended without a close frame: %v", rerr)
		require.Equal(t, 1013, ce.Code)
		require.Equal(t, "Slow consumer", ce.Text)
		sender.sync() // the sender is not affected
		// The close and the frames that found the queue full are counted.
		require.Equal(t, 1.0, gathered(t, reg, "agentchat_closes_total", "1013"))
		require.GreaterOrEqual(t, gathered(t, reg, "agentchat_frames_dropped_total", "slow_consumer"), 1.0)
	})

	t.Run("per-IP cap reads X-Forwarded-For only behind a trusted proxy", func(t *testing.T) {
		for _, trust := range []bool{false, true} {
			n := startNode(t, func(c *node.Config) { c.MaxConnsPerIP, c.TrustProxy = 1, trust })
			first := dialHeader(t, n.URL, http.Header{"X-Forwarded-For": {"203.0.113.1"}})
			first.sync()
			second := dialHeader(t, n.URL, http.Header{"X-Forwarded-For": {"203.0.113.2, 10.0.0.1"}})
			if trust {
				second.sync() // another client address: admitted
				third := dialHeader(t, n.URL, http.Header{"X-Forwarded-For": {"203.0.113.1"}})
				require.Equal(t, 1008, third.closeCode())
			} else {
				require.Equal(t, 1008, second.closeCode(), "a spoofed header must not dodge the cap")
			}
		}
	})

	t.Run("data dir is locked", func(t *testing.T) {
		dir := t.TempDir()
		ctx := context.Background()
		dd, err := node.OpenDataDir(ctx, dir)
		require.NoError(t, err)
		_, err = node.OpenDataDir(ctx, dir)
		require.Error(t, err)
		require.True(t, errors.Is(err, node.ErrDataDirLocked), "got %v", err)
		key := append([]byte(nil), dd.Key...)
		require.NoError(t, dd.Close())
		// Released on Close; the node key persists.
		dd, err = node.OpenDataDir(ctx, dir)
		require.NoError(t, err)
		require.Equal(t, key, []byte(dd.Key))
		require.NoError(t, dd.Close())
	})

	t.Run("per-IP connection cap", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.MaxConnsPerIP = 1 })
		first := n.dial(t)
		first.sync() // registered on the node before the next dial
		second := n.dial(t)
		ce := second.closeError()
		require.Equal(t, 1008, ce.Code)
		require.Equal(t, "Too many connections from this IP", ce.Text)
		first.sync()
		// A slot frees up when the first socket goes.
		first.close()
		require.Eventually(t, func() bool {
			c, _, err := dialer.Dial(n.URL, nil)
			if err != nil {
				return false
			}
			defer c.Close()
			if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"PING"}`)); err != nil {
				return false
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, data, err := c.ReadMessage()
			return err == nil && strings.Contains(string(data), "PONG")
		}, waitTimeout, 10*time.Millisecond)
	})

	t.Run("per-IP connection cap holds under concurrent dials", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.MaxConnsPerIP = 1 })
		const dials = 64
		clients := make([]*client, dials)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ws, _, err := dialer.Dial(n.URL, nil)
				if err != nil {
					return // refused outright is fine too
				}
				c := &client{tb: t, ws: ws, notify: make(chan struct{}, 1), done: make(chan struct{})}
				go c.readLoop()
				clients[i] = c
			}()
		}
		close(start)
		wg.Wait()
		open := 0
		for _, c := range clients {
			if c == nil {
				continue
			}
			t.Cleanup(c.close)
			// Either the node closes it (1008) or it answers PING.
			if c.answersPing() {
				open++
			} else {
				require.Equal(t, 1008, c.closeCode())
			}
		}
		require.Equal(t, 1, open, "MaxConnsPerIP=1 must admit exactly one of %d concurrent sockets", dials)
	})

	t.Run("challenge expiry", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.ChallengeTimeout = 150 * time.Millisecond })
		_, pem := newKey(t)
		c := n.dial(t)
		c.requestChallenge("slow", pem)
		c.nextError("VERIFICATION_EXPIRED", "Challenge expired")
		ce := c.closeError()
		require.Equal(t, 1000, ce.Code)
		require.Equal(t, "Challenge expired", ce.Text)
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Callback markers (§9.4) are stripped before routing and fire back to the
// author only.
func TestCallbackFiresToAuthorOnly(t *testing.T) {
	n := startNode(t, noLimits)
	a := n.newAgent(t, "alice")
	b := n.newAgent(t, "bob")
	a.send(map[string]any{"type": "MSG", "to": "#general", "content": "brb @@cb:0.1s@@check the build"})
	m := b.nextMatch("stripped message", msgFrom(a.ID))
	require.Equal(t, "brb", m.str("content"))
	fire := a.nextMatch("callback fire", func(f frame) bool { return f.typ() == "MSG" && f.str("from") == "@server" && f.has("cb_id") })
	require.Equal(t, "@@cb-fire@@check the build", fire.str("content"))
	require.Equal(t, a.ID, fire.str("to"))
	require.Equal(t, a.ID, fire.str("cb_origin"))
	b.requireNone("callback fire at another agent", func(f frame) bool { return f.has("cb_id") })
}
