package node_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
)

// Who the socket is before a bad-input case runs.
type role int

const (
	unidentified role = iota
	ephemeral
	keyed
)

// badCase sends frames (static, or built by prep once the socket is in its
// role) and expects either one ERROR with code (and, when msg is set, that
// exact text) on a connection that survives, or a close with closeCode.
type badCase struct {
	name   string
	role   role
	opts   []option // a node of its own, built with these options
	frames []any
	prep   func(t *testing.T, n *testNode, c *client) []any
	code   string
	msg    string
	prefix string // message prefix, where the text carries a variable part
	// several: the case may answer more than one ERROR (floods).
	several bool
	// slowPing: the connection survives but its window is full, so PING is
	// retried until answered.
	slowPing  bool
	closeCode int
}

func TestBadInput(t *testing.T) {
	shared := startNode(t) // default limits: ON
	long := strings.Repeat("a", 33)
	valid := map[string]any{"type": "PROPOSAL", "to": "@0123456789abcdef", "task": "t", "sig": "c2ln"}
	with := func(base map[string]any, k string, v any) map[string]any {
		m := maps.Clone(base)
		m[k] = v
		return m
	}
	without := func(base map[string]any, k string) map[string]any {
		m := maps.Clone(base)
		delete(m, k)
		return m
	}
	otherKey, _ := newKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	require.NoError(t, err)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}))

	cases := []badCase{
		// Framing and type (§1, §5).
		{name: "malformed JSON", frames: []any{`{"type":`}, code: "INVALID_MSG", msg: "Invalid JSON"},
		{name: "not JSON", frames: []any{`hello`}, code: "INVALID_MSG", msg: "Invalid JSON"},
		{name: "trailing garbage", frames: []any{`{"type":"PING"} x`}, code: "INVALID_MSG", msg: "Invalid JSON"},
		{name: "array", frames: []any{`[]`}, code: "INVALID_MSG", msg: "Missing message type"},
		{name: "number", frames: []any{`5`}, code: "INVALID_MSG", msg: "Missing message type"},
		{name: "string", frames: []any{`"x"`}, code: "INVALID_MSG", msg: "Missing message type"},
		{name: "null", frames: []any{`null`}, code: "INVALID_MSG", msg: "Missing message type"},
		{name: "missing type", frames: []any{`{}`}, code: "INVALID_MSG", msg: "Missing message type"},
		{name: "empty type", frames: []any{`{"type":""}`}, code: "INVALID_MSG", msg: "Missing message type"},
		{name: "unknown type", frames: []any{`{"type":"FOO"}`}, code: "INVALID_MSG", msg: "Unknown message type: FOO"},
		{name: "NICK is not a type", frames: []any{`{"type":"NICK","nick":"x"}`}, code: "INVALID_MSG", msg: "Unknown message type: NICK"},
		{name: "ADMIN_OPEN_WINDOW is not a type", frames: []any{`{"type":"ADMIN_OPEN_WINDOW","admin_key":"k"}`}, code: "INVALID_MSG", msg: "Unknown message type: ADMIN_OPEN_WINDOW"},

		// IDENTIFY.
		{name: "IDENTIFY without name", frames: []any{`{"type":"IDENTIFY"}`}, code: "INVALID_MSG", msg: "Invalid agent name"},
		{name: "IDENTIFY empty name", frames: []any{`{"type":"IDENTIFY","name":""}`}, code: "INVALID_MSG", msg: "Invalid agent name"},
		{name: "IDENTIFY name 5", frames: []any{`{"type":"IDENTIFY","name":5}`}, code: "INVALID_MSG", msg: "Invalid agent name"},
		{name: "IDENTIFY name with a space", frames: []any{`{"type":"IDENTIFY","name":"bad name"}`}, code: "INVALID_MSG", msg: "Invalid agent name"},
		{name: "IDENTIFY 33-char name", frames: []any{map[string]any{"type": "IDENTIFY", "name": long}}, code: "INVALID_MSG", msg: "Invalid agent name"},
		{name: "IDENTIFY invalid pubkey", frames: []any{`{"type":"IDENTIFY","name":"a","pubkey":"not a key"}`}, code: "INVALID_MSG", msg: "Invalid public key format (must be Ed25519 PEM)"},
		{name: "IDENTIFY pubkey 5", frames: []any{`{"type":"IDENTIFY","name":"a","pubkey":5}`}, code: "INVALID_MSG", msg: "Invalid public key format (must be Ed25519 PEM)"},
		{name: "IDENTIFY private key as pubkey", frames: []any{map[string]any{"type": "IDENTIFY", "name": "a", "pubkey": identity.EncodePrivatePEM(otherKey)}},
			code: "INVALID_MSG", msg: "Invalid public key format (must be Ed25519 PEM)"},
		{name: "IDENTIFY P-256 public key", frames: []any{map[string]any{"type": "IDENTIFY", "name": "a", "pubkey": ecPEM}},
			code: "INVALID_MSG", msg: "Invalid public key format (must be Ed25519 PEM)"},

		// VERIFY_IDENTITY.
		{name: "VERIFY_IDENTITY without challenge_id", frames: []any{`{"type":"VERIFY_IDENTITY","signature":"c2ln","timestamp":1}`}, code: "INVALID_MSG"},
		{name: "VERIFY_IDENTITY without signature", frames: []any{`{"type":"VERIFY_IDENTITY","challenge_id":"chal_x_00000000","timestamp":1}`}, code: "INVALID_MSG"},
		{name: "VERIFY_IDENTITY without timestamp", frames: []any{`{"type":"VERIFY_IDENTITY","challenge_id":"chal_x_00000000","signature":"c2ln"}`}, code: "INVALID_MSG"},
		{name: "VERIFY_IDENTITY timestamp x", frames: []any{`{"type":"VERIFY_IDENTITY","challenge_id":"chal_x_00000000","signature":"c2ln","timestamp":"x"}`}, code: "INVALID_MSG"},
		{name: "VERIFY_IDENTITY timestamp 0", frames: []any{`{"type":"VERIFY_IDENTITY","challenge_id":"chal_x_00000000","signature":"c2ln","timestamp":0}`}, code: "INVALID_MSG"},
		{name: "VERIFY_IDENTITY unknown challenge", frames: []any{`{"type":"VERIFY_IDENTITY","challenge_id":"chal_x_00000000","signature":"c2ln","timestamp":1}`},
			code: "VERIFICATION_EXPIRED", msg: "Challenge not found or expired"},
		{name: "VERIFY_IDENTITY wrong signature", prep: func(t *testing.T, n *testNode, c *client) []any {
			_, pem := newKey(t)
			ch := c.requestChallenge("agent", pem)
			ts := float64(time.Now().UnixMilli())
			return []any{map[string]any{"type": "VERIFY_IDENTITY", "challenge_id": ch.str("challenge_id"),
				"signature": identity.SignChallenge(otherKey, ch.str("nonce"), ch.str("challenge_id"), ts), "timestamp": ts}}
		}, code: "VERIFICATION_FAILED", msg: "Invalid signature"},
		{name: "VERIFY_IDENTITY signature over another timestamp", prep: func(t *testing.T, n *testNode, c *client) []any {
			priv, pem := newKey(t)
			ch := c.requestChallenge("agent", pem)
			ts := float64(time.Now().UnixMilli())
			return []any{map[string]any{"type": "VERIFY_IDENTITY", "challenge_id": ch.str("challenge_id"),
				"signature": identity.SignChallenge(priv, ch.str("nonce"), ch.str("challenge_id"), ts), "timestamp": ts + 1}}
		}, code: "VERIFICATION_FAILED", msg: "Invalid signature"},
		{name: "VERIFY_IDENTITY foreign challenge", prep: func(t *testing.T, n *testNode, c *client) []any {
			priv, pem := newKey(t)
			owner := n.dial(t)
			ch := owner.requestChallenge("owner", pem)
			ts := float64(time.Now().UnixMilli())
			return []any{map[string]any{"type": "VERIFY_IDENTITY", "challenge_id": ch.str("challenge_id"),
				"signature": identity.SignChallenge(priv, ch.str("nonce"), ch.str("challenge_id"), ts), "timestamp": ts}}
		}, code: "INVALID_MSG"},
		{name: "IDENTIFY after WELCOME", role: ephemeral, frames: []any{`{"type":"IDENTIFY","name":"again"}`}, code: "INVALID_MSG", msg: "Already identified"},
		{name: "IDENTIFY with key after WELCOME", role: keyed, prep: func(t *testing.T, n *testNode, c *client) []any {
			return []any{map[string]any{"type": "IDENTIFY", "name": "again", "pubkey": c.PEM}}
		}, code: "INVALID_MSG", msg: "Already identified"},
		{name: "VERIFY_IDENTITY after WELCOME", role: keyed, frames: []any{`{"type":"VERIFY_IDENTITY","challenge_id":"chal_x_00000000","signature":"c2ln","timestamp":1}`},
			code: "INVALID_MSG", msg: "Already identified"},
		{name: "IDENTIFY while a challenge is pending", prep: func(t *testing.T, n *testNode, c *client) []any {
			_, pem := newKey(t)
			c.requestChallenge("agent", pem)
			return []any{map[string]any{"type": "IDENTIFY", "name": "agent", "pubkey": pem}}
		}, code: "INVALID_MSG", msg: "Challenge already pending"},
		{name: "ephemeral IDENTIFY while a challenge is pending", prep: func(t *testing.T, n *testNode, c *client) []any {
			_, pem := newKey(t)
			c.requestChallenge("agent", pem)
			return []any{`{"type":"IDENTIFY","name":"agent"}`}
		}, code: "INVALID_MSG", msg: "Challenge already pending"},

		// Tiers (§2).
		{name: "MSG before IDENTIFY", frames: []any{`{"type":"MSG","to":"#general","content":"hi"}`}, code: "AUTH_REQUIRED", msg: "Must IDENTIFY first"},
		{name: "JOIN before IDENTIFY", frames: []any{`{"type":"JOIN","channel":"#general"}`}, code: "AUTH_REQUIRED", msg: "Must IDENTIFY first"},
		{name: "SET_NICK before IDENTIFY", frames: []any{`{"type":"SET_NICK","nick":"x"}`}, code: "AUTH_REQUIRED", msg: "Must IDENTIFY first"},
		{name: "VERIFY_REQUEST before IDENTIFY", frames: []any{`{"type":"VERIFY_REQUEST","target":"@abcdefgh","nonce":"0123456789abcdef"}`}, code: "AUTH_REQUIRED"},
		{name: "PROPOSAL from an ephemeral agent", role: ephemeral, frames: []any{valid}, code: "SIGNATURE_REQUIRED"},
		{name: "ACCEPT from an ephemeral agent", role: ephemeral, frames: []any{`{"type":"ACCEPT","proposal_id":"p","sig":"c2ln"}`}, code: "SIGNATURE_REQUIRED"},
		{name: "VERIFY_RESPONSE from an ephemeral agent", role: ephemeral, frames: []any{`{"type":"VERIFY_RESPONSE","request_id":"r","nonce":"n","sig":"c2ln"}`}, code: "SIGNATURE_REQUIRED"},

		// Channels.
		{name: "JOIN without channel", role: ephemeral, frames: []any{`{"type":"JOIN"}`}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "JOIN channel true", role: ephemeral, frames: []any{`{"type":"JOIN","channel":true}`}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "JOIN channel without #", role: ephemeral, frames: []any{`{"type":"JOIN","channel":"general"}`}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "JOIN channel #", role: ephemeral, frames: []any{`{"type":"JOIN","channel":"#"}`}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "JOIN 33-char channel", role: ephemeral, frames: []any{map[string]any{"type": "JOIN", "channel": "#" + long[:32]}}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "JOIN channel with a space", role: ephemeral, frames: []any{`{"type":"JOIN","channel":"#a b"}`}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "LEAVE without channel", role: ephemeral, frames: []any{`{"type":"LEAVE"}`}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "LIST_AGENTS bad channel", role: ephemeral, frames: []any{`{"type":"LIST_AGENTS","channel":"x"}`}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "CREATE_CHANNEL bad channel", role: keyed, frames: []any{`{"type":"CREATE_CHANNEL","channel":"nohash"}`}, code: "INVALID_MSG", msg: "Invalid channel name"},
		{name: "INVITE agent without @", role: keyed, frames: []any{`{"type":"INVITE","channel":"#general","agent":"bob"}`}, code: "INVALID_MSG"},
		{name: "JOIN unknown channel", role: ephemeral, frames: []any{`{"type":"JOIN","channel":"#nope"}`}, code: "CHANNEL_NOT_FOUND", msg: "Channel #nope not found"},
		{name: "INVITE to unknown channel", role: keyed, frames: []any{`{"type":"INVITE","channel":"#nope","agent":"@abcdefgh"}`}, code: "CHANNEL_NOT_FOUND"},

		// MSG.
		{name: "MSG without to", role: ephemeral, frames: []any{`{"type":"MSG","content":"hi"}`}, code: "INVALID_MSG"},
		{name: "MSG without content", role: ephemeral, frames: []any{`{"type":"MSG","to":"#general"}`}, code: "INVALID_MSG"},
		{name: "MSG content 5", role: ephemeral, frames: []any{`{"type":"MSG","to":"#general","content":5}`}, code: "INVALID_MSG"},
		{name: "MSG to 5", role: ephemeral, frames: []any{`{"type":"MSG","to":5,"content":"hi"}`}, code: "INVALID_MSG"},
		{name: "MSG target without # or @", role: ephemeral, frames: []any{`{"type":"MSG","to":"general","content":"hi"}`}, code: "INVALID_MSG"},
		{name: "MSG sig 5", role: ephemeral, frames: []any{`{"type":"MSG","to":"#general","content":"hi","sig":5}`}, code: "INVALID_MSG"},
		{name: "MSG content 4097 chars", role: ephemeral, frames: []any{map[string]any{"type": "MSG", "to": "#general", "content": strings.Repeat("x", 4097)}},
			code: "INVALID_MSG", msg: "Content too long (max 4096 chars)"},
		{name: "MSG content 2049 astral chars", role: ephemeral, frames: []any{map[string]any{"type": "MSG", "to": "#general", "content": strings.Repeat("😀", 2049)}},
			code: "INVALID_MSG", msg: "Content too long (max 4096 chars)"},
		{name: "MSG to unknown channel", role: ephemeral, frames: []any{`{"type":"MSG","to":"#nope","content":"hi"}`}, code: "CHANNEL_NOT_FOUND"},
		{name: "MSG to a channel not joined", role: ephemeral, prep: func(t *testing.T, n *testNode, c *client) []any {
			c.send(`{"type":"LEAVE","channel":"#agents"}`)
			c.next("LEFT")
			return []any{`{"type":"MSG","to":"#agents","content":"hi"}`}
		}, code: "NOT_INVITED", msg: "Not a member of #agents"},
		{name: "FILE_CHUNK to a channel", role: ephemeral, frames: []any{`{"type":"FILE_CHUNK","to":"#general","content":"x"}`},
			code: "INVALID_MSG", msg: "FILE_CHUNK only supports DM targets (@agent)"},
		{name: "FILE_CHUNK to unknown agent", role: ephemeral, frames: []any{`{"type":"FILE_CHUNK","to":"@nobody00","content":"x"}`}, code: "AGENT_NOT_FOUND"},
		{name: "MSG to unknown agent", role: ephemeral, frames: []any{`{"type":"MSG","to":"@nobody00","content":"hi"}`}, code: "AGENT_NOT_FOUND"},

		// PROPOSAL and ACCEPT field checks come before the tier checks.
		{name: "PROPOSAL without to", frames: []any{without(valid, "to")}, code: "INVALID_MSG"},
		{name: "PROPOSAL without task", frames: []any{without(valid, "task")}, code: "INVALID_MSG"},
		{name: "PROPOSAL without sig", frames: []any{without(valid, "sig")}, code: "INVALID_MSG"},
		{name: "PROPOSAL to a channel", frames: []any{with(valid, "to", "#general")}, code: "INVALID_MSG"},
		{name: "PROPOSAL elo_stake -1", frames: []any{with(valid, "elo_stake", -1)}, code: "INVALID_MSG"},
		{name: "PROPOSAL elo_stake 1.5", frames: []any{with(valid, "elo_stake", 1.5)}, code: "INVALID_MSG"},
		{name: "PROPOSAL elo_stake string", frames: []any{with(valid, "elo_stake", "5")}, code: "INVALID_MSG"},
		{name: "PROPOSAL expires x", frames: []any{with(valid, "expires", "x")}, code: "INVALID_MSG"},
		{name: "PROPOSAL expires null", frames: []any{`{"type":"PROPOSAL","to":"@0123456789abcdef","task":"t","sig":"c2ln","expires":null}`}, code: "INVALID_MSG"},
		{name: "ACCEPT without proposal_id", frames: []any{`{"type":"ACCEPT","sig":"c2ln"}`}, code: "INVALID_MSG"},
		{name: "ACCEPT without sig", frames: []any{`{"type":"ACCEPT","proposal_id":"p"}`}, code: "INVALID_MSG"},
		{name: "ACCEPT elo_stake -1", frames: []any{`{"type":"ACCEPT","proposal_id":"p","sig":"c2ln","elo_stake":-1}`}, code: "INVALID_MSG"},
		{name: "ACCEPT elo_stake 1.5", frames: []any{`{"type":"ACCEPT","proposal_id":"p","sig":"c2ln","elo_stake":1.5}`}, code: "INVALID_MSG"},

		// Presence and nick.
		{name: "SET_PRESENCE without status", role: ephemeral, frames: []any{`{"type":"SET_PRESENCE"}`}, code: "INVALID_MSG"},
		{name: "SET_PRESENCE unknown status", role: ephemeral, frames: []any{`{"type":"SET_PRESENCE","status":"sleeping"}`}, code: "INVALID_MSG"},
		{name: "SET_PRESENCE status_text 5", role: ephemeral, frames: []any{`{"type":"SET_PRESENCE","status":"away","status_text":5}`}, code: "INVALID_MSG"},
		{name: "SET_PRESENCE status_text 101 chars", role: ephemeral, frames: []any{map[string]any{"type": "SET_PRESENCE", "status": "away", "status_text": strings.Repeat("s", 101)}}, code: "INVALID_MSG"},
		{name: "SET_NICK without nick", role: ephemeral, frames: []any{`{"type":"SET_NICK"}`}, code: "INVALID_MSG"},
		{name: "SET_NICK nick 5", role: ephemeral, frames: []any{`{"type":"SET_NICK","nick":5}`}, code: "INVALID_MSG"},
		{name: "SET_NICK with a space", role: ephemeral, frames: []any{`{"type":"SET_NICK","nick":"bad nick"}`}, code: "INVALID_MSG"},
		{name: "SET_NICK 25 chars", role: ephemeral, frames: []any{map[string]any{"type": "SET_NICK", "nick": long[:25]}}, code: "INVALID_MSG"},
		{name: "SET_NICK reserved", role: ephemeral, frames: []any{`{"type":"SET_NICK","nick":"ROOT"}`}, code: "INVALID_NAME", msg: `Nick "ROOT" is reserved`},

		// Peer verification.
		{name: "VERIFY_REQUEST without target", role: ephemeral, frames: []any{`{"type":"VERIFY_REQUEST","nonce":"0123456789abcdef"}`}, code: "INVALID_MSG"},
		{name: "VERIFY_REQUEST target without @", role: ephemeral, frames: []any{`{"type":"VERIFY_REQUEST","target":"bob","nonce":"0123456789abcdef"}`}, code: "INVALID_MSG"},
		{name: "VERIFY_REQUEST without nonce", role: ephemeral, frames: []any{`{"type":"VERIFY_REQUEST","target":"@abcdefgh"}`}, code: "INVALID_MSG"},
		{name: "VERIFY_REQUEST nonce of 15 chars", role: ephemeral, frames: []any{`{"type":"VERIFY_REQUEST","target":"@abcdefgh","nonce":"0123456789abcde"}`}, code: "INVALID_MSG"},
		{name: "VERIFY_REQUEST nonce of 129 chars", role: ephemeral, frames: []any{map[string]any{"type": "VERIFY_REQUEST", "target": "@abcdefgh", "nonce": strings.Repeat("n", 129)}}, code: "INVALID_MSG"},
		{name: "VERIFY_REQUEST unknown target", role: ephemeral, frames: []any{`{"type":"VERIFY_REQUEST","target":"@abcdefgh","nonce":"0123456789abcdef"}`}, code: "AGENT_NOT_FOUND"},

		// Admin frames: fields, then the key.
		{name: "ADMIN_KICK without admin_key", frames: []any{`{"type":"ADMIN_KICK","agent_id":"@abcdefgh"}`}, code: "INVALID_MSG"},
		{name: "ADMIN_VERIFY verified not a bool", frames: []any{`{"type":"ADMIN_VERIFY","admin_key":"k","agent_id":"@abcdefgh","verified":"yes"}`}, code: "INVALID_MSG"},
		{name: "ADMIN_MOTD motd 5", frames: []any{`{"type":"ADMIN_MOTD","admin_key":"k","motd":5}`}, code: "INVALID_MSG"},

		// Rate limits (§18 as amended by DESIGN.md).
		{name: "MSG faster than 1 per second", role: ephemeral, frames: []any{
			`{"type":"MSG","to":"#general","content":"one"}`, `{"type":"MSG","to":"#general","content":"two"}`,
		}, code: "RATE_LIMITED", msg: "Rate limit exceeded (max 1 message per second)"},
		{name: "SET_NICK twice within 30 s", role: ephemeral, prep: func(t *testing.T, n *testNode, c *client) []any {
			c.send(`{"type":"SET_NICK","nick":"first"}`)
			c.next("NICK_CHANGED")
			return []any{`{"type":"SET_NICK","nick":"second"}`}
		}, code: "RATE_LIMITED", prefix: "Nick change rate limited. Try again in "},
		{name: "post-auth flood", role: ephemeral, opts: []option{func(c *node.Config) { c.RateWindow = 2 * time.Second }},
			frames: repeat(`{"type":"PING"}`, 61), code: "RATE_LIMITED", several: true, slowPing: true},

		// Closes.
		{name: "pre-auth flood", frames: repeat(`{"type":"PING"}`, 11), closeCode: 1008},
		{name: "frame over 2 MiB", frames: []any{fmt.Sprintf(`{"type":"PING","pad":"%s"}`, strings.Repeat("p", 2<<20))}, closeCode: 1009},
		{name: "frame over 2 MiB after IDENTIFY", role: ephemeral,
			frames: []any{fmt.Sprintf(`{"type":"MSG","to":"#general","content":"%s"}`, strings.Repeat("p", 2<<20))}, closeCode: 1009},
		{name: "invalid UTF-8 text frame", frames: []any{[]byte("{\"type\":\"PING\",\"x\":\"\xff\xfe\"}")}, closeCode: 1007},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := shared
			if tc.opts != nil {
				n = startNode(t, tc.opts...)
			}
			c := n.dial(t)
			switch tc.role {
			case ephemeral:
				c.identify("agent")
			case keyed:
				priv, _ := newKey(t)
				c.identifyKey("agent", priv)
			}
			frames := tc.frames
			if tc.prep != nil {
				frames = tc.prep(t, n, c)
			}
			if tc.closeCode != 0 {
				// The node may close mid-write; the close code is what counts.
				for _, f := range frames {
					if c.sendErr(f) != nil {
						break
					}
				}
				require.Equal(t, tc.closeCode, c.closeCode())
				return
			}
			for _, f := range frames {
				c.send(f)
			}
			e := c.nextError(tc.code, tc.msg)
			if tc.prefix != "" {
				require.True(t, strings.HasPrefix(e.str("message"), tc.prefix), "message %q", e.str("message"))
			}
			if tc.slowPing {
				// Let every answer to the flood arrive, then poll for a PONG.
				require.Eventually(t, func() bool {
					return c.count(isType("PONG"))+c.count(isError(tc.code))+1 == len(frames)
				}, waitTimeout, 5*time.Millisecond, "one answer per flood frame")
				c.discard()
				requirePongEventually(t, c)
				return
			}
			// The connection survives, and the bad frame got one ERROR only.
			c.sync()
			if !tc.several {
				c.requireNone("second ERROR", isType("ERROR"))
			}
		})
	}
}

func repeat(s string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// requirePongEventually polls PING until the node answers PONG: the
// connection is alive even though its frame window is still full.
func requirePongEventually(t *testing.T, c *client) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		c.send(`{"type":"PING"}`)
		f := c.nextMatch("PONG or RATE_LIMITED", func(f frame) bool {
			return f.typ() == "PONG" || (f.typ() == "ERROR" && f.str("code") == "RATE_LIMITED")
		})
		if f.typ() == "PONG" {
			return
		}
		require.True(t, time.Now().Before(deadline), "no PONG within %v of the flood", waitTimeout)
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline above
	}
}
