package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/mcp"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// waitTimeout bounds every wait; on loopback it only decides how long a
// failure takes.
const waitTimeout = 10 * time.Second

// testNode is a real node on a loopback port with a real data dir.
type testNode = testnet.Server

// noLimits turns the node's per-connection rate limits off.
func noLimits(c *node.Config) { c.RateLimits = false }

// startNode starts a node on a fresh data dir; it is stopped in cleanup.
func startNode(tb testing.TB, opts ...func(*node.Config)) *testNode {
	tb.Helper()
	return startNodeAt(tb, tb.TempDir(), "127.0.0.1:0", opts...)
}

// startNodeAt starts a node on data dir dir listening on addr; both may be
// an earlier node's. It is stopped in cleanup.
func startNodeAt(tb testing.TB, dir, addr string, opts ...func(*node.Config)) *testNode {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := testnet.StartServer(dir, addr, log, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { stop(tb, n) })
	return n
}

// freeAddr returns a loopback address no one listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// withMarket gives the node a marketplace.
func withMarket(m node.Market) func(*node.Config) { return func(c *node.Config) { c.Market = m } }

// testMarket is a stand-in marketplace that keeps proposals in memory and
// delivers every operation to both parties, so the MCP tools' results and
// the counterparty's view can be checked through a real node without the
// market package's ledger.
type testMarket struct {
	mu    sync.Mutex
	n     int
	props map[string][2]string // proposal ID -> proposer, recipient (IDs without "@")
}

func newTestMarket() *testMarket { return &testMarket{props: map[string][2]string{}} }

func (m *testMarket) Stats() node.ProposalStats {
	return node.ProposalStats{ByStatus: map[string]int{}}
}

func (m *testMarket) Observe(node.Caller, []byte) {} // one node: nothing is relayed

func (m *testMarket) ObserveCase(string, []byte) {}

func (m *testMarket) Handle(_ context.Context, from node.Caller, msg protocol.Message, c node.Courier) *protocol.Error {
	now := time.Now().UnixMilli()
	parties := func(id string) ([2]string, *protocol.Error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		p, ok := m.props[id]
		if !ok {
			return p, protocol.Errorf(protocol.CodeProposalNotFound, "Proposal not found")
		}
		return p, nil
	}
	// both delivers f to the other party and answers the caller.
	both := func(p [2]string, f any) {
		other := p[0]
		if other == from.ID {
			other = p[1]
		}
		c.Send(other, f)
		c.Reply(f)
	}
	switch x := msg.(type) {
	case *protocol.Proposal:
		m.mu.Lock()
		m.n++
		id := fmt.Sprintf("prop_test_%d", m.n)
		m.props[id] = [2]string{from.ID, x.To[1:]}
		m.mu.Unlock()
		f := &protocol.ProposalFrame{Type: protocol.TypeProposal, TS: now, ID: id, From: "@" + from.ID, To: x.To, Task: x.Task,
			Amount: x.Amount, Status: protocol.StatusPending, CreatedAt: now, Sig: x.Sig, EloStake: x.EloStake}
		if x.Currency != "" {
			f.Currency = &x.Currency
		}
		if x.Expires != nil {
			e := int64(*x.Expires)
			f.Expires = &e
		}
		c.Send(x.To[1:], f)
		c.Reply(f)
	case *protocol.Accept:
		p, err := parties(x.ProposalID)
		if err != nil {
			return err
		}
		both(p, &protocol.AcceptFrame{Type: protocol.TypeAccept, TS: now, ProposalID: x.ProposalID, Status: protocol.StatusAccepted,
			From: "@" + p[0], To: "@" + p[1], Sig: x.Sig})
	case *protocol.Reject:
		p, err := parties(x.ProposalID)
		if err != nil {
			return err
		}
		both(p, &protocol.RejectFrame{Type: protocol.TypeReject, TS: now, ProposalID: x.ProposalID, Status: protocol.StatusRejected,
			From: "@" + p[0], To: "@" + p[1], Reason: &x.Reason, Sig: x.Sig})
	case *protocol.Complete:
		p, err := parties(x.ProposalID)
		if err != nil {
			return err
		}
		both(p, &protocol.CompleteFrame{Type: protocol.TypeComplete, TS: now, ProposalID: x.ProposalID, Status: protocol.StatusCompleted,
			From: "@" + p[0], To: "@" + p[1], CompletedBy: "@" + from.ID, Proof: &x.Proof, Sig: x.Sig})
	case *protocol.Dispute:
		p, err := parties(x.ProposalID)
		if err != nil {
			return err
		}
		both(p, &protocol.DisputeFrame{Type: protocol.TypeDispute, TS: now, ProposalID: x.ProposalID, Status: protocol.StatusDisputed,
			From: "@" + p[0], To: "@" + p[1], DisputedBy: "@" + from.ID, Reason: x.Reason, Sig: x.Sig})
	case *protocol.RegisterSkills:
		var skills []json.RawMessage
		_ = json.Unmarshal(x.Skills, &skills)
		c.Reply(&protocol.SkillsRegistered{Type: protocol.TypeSkillsRegistered, TS: now, AgentID: "@" + from.ID,
			SkillsCount: len(skills), RegisteredAt: now})
	case *protocol.SearchSkills:
		q, _ := protocol.Encode(x.Query)
		c.Reply(&protocol.SearchResults{Type: protocol.TypeSearchResults, TS: now, QueryID: x.QueryID, Query: q,
			Results: []json.RawMessage{json.RawMessage(`{"agent_id":"@0123456789abcdef","capability":"code_review"}`)}, Total: 1})
	default:
		return protocol.Errorf(protocol.CodeInvalidMsg, "not in the test market")
	}
	return nil
}

// stop shuts n down (agents get 1001) and closes its data dir; it is
// idempotent.
func stop(tb testing.TB, n *testNode) {
	if err := n.Stop(); err != nil {
		tb.Error(err)
	}
}

// dial connects a raw agent client to n; it is closed in cleanup.
func dial(t testing.TB, n *testNode, opts client.Options) *client.Client {
	t.Helper()
	opts.URL = n.URL
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := client.Dial(ctxT(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func newIdentity(t testing.TB, name string) *identity.File {
	t.Helper()
	f, err := identity.New(name)
	require.NoError(t, err)
	return f
}

// ctxT returns a context bounded by waitTimeout.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// nextEvent returns the first event of type T for which match holds,
// skipping others.
func nextEvent[T client.Event](t testing.TB, c *client.Client, match func(T) bool) T {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	var seen []string
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				var zero T
				require.FailNowf(t, "events closed", "waiting for %T; seen %v", zero, seen)
			}
			if v, ok := ev.(T); ok && (match == nil || match(v)) {
				return v
			}
			seen = append(seen, fmt.Sprintf("%T%+v", ev, ev))
		case <-deadline.C:
			var zero T
			require.FailNowf(t, "timeout", "no %T within %v; seen %v", zero, waitTimeout, seen)
		}
	}
}

// startServer runs an mcp.Server in process over a net.Pipe, as the stdio
// transport would, and returns an MCP client session to it. Cleanup
// closes the session (the server sees the end of its input) and checks
// that Run returned nil.
func startServer(t *testing.T, cfg mcp.Config) *sdk.ClientSession {
	t.Helper()
	if cfg.Home == "" {
		cfg.Home = t.TempDir()
	}
	if cfg.Settle == 0 {
		cfg.Settle = 50 * time.Millisecond
	}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := mcp.New(cfg)
	require.NoError(t, err)
	cs, done := runServer(t, context.Background(), srv)
	t.Cleanup(func() {
		_ = cs.Close()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(waitTimeout):
			t.Error("mcp server did not stop after its input ended")
		}
	})
	return cs
}

// runServer runs srv over a net.Pipe and connects an MCP client to it;
// done receives Run's result.
func runServer(t *testing.T, ctx context.Context, srv *mcp.Server) (*sdk.ClientSession, <-chan error) {
	t.Helper()
	serverEnd, clientEnd := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, serverEnd, serverEnd) }()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test-host", Version: "0"}, nil).
		Connect(ctxT(t), &sdk.IOTransport{Reader: clientEnd, Writer: clientEnd}, nil)
	require.NoError(t, err)
	return cs, done
}

// call calls a tool and returns its single text item and isError.
func call(t testing.TB, cs *sdk.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err, "call %s", name)
	require.Len(t, res.Content, 1, "%s returns a single content item", name)
	text, ok := res.Content[0].(*sdk.TextContent)
	require.True(t, ok, "%s returns text, got %T", name, res.Content[0])
	require.Nil(t, res.StructuredContent, "%s returns only the text item", name)
	return text.Text, res.IsError
}

// callOK calls a tool that must succeed and decodes its JSON text.
func callOK(t testing.TB, cs *sdk.ClientSession, name string, args map[string]any) map[string]any {
	t.Helper()
	text, isErr := call(t, cs, name, args)
	require.False(t, isErr, "%s failed: %s", name, text)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &out), "%s returned %q", name, text)
	return out
}

// callErr calls a tool that must fail and returns its message.
func callErr(t testing.TB, cs *sdk.ClientSession, name string, args map[string]any) string {
	t.Helper()
	text, isErr := call(t, cs, name, args)
	require.True(t, isErr, "%s should fail, returned %s", name, text)
	return text
}

// messages returns the "messages" of a listen result.
func messages(t testing.TB, out map[string]any) []map[string]any {
	t.Helper()
	raw, ok := out["messages"].([]any)
	require.True(t, ok, "no messages array in %v", out)
	var msgs []map[string]any
	for _, m := range raw {
		msgs = append(msgs, m.(map[string]any))
	}
	return msgs
}

// allTools are the tools of PROTOCOL.md §22 this server offers.
// agentchat_create_channel appears once agent/client can create channels.
var allTools = []string{
	"agentchat_connect", "agentchat_send", "agentchat_listen", "agentchat_channels", "agentchat_leave",
	"agentchat_nick", "agentchat_set_presence",
	"agentchat_propose", "agentchat_accept", "agentchat_reject", "agentchat_complete", "agentchat_dispute",
	"agentchat_register_skills", "agentchat_search_skills",
	"agentchat_file_list_offers", "agentchat_file_receive", "agentchat_inbox",
	"agentchat_dispute_file", "agentchat_dispute_reveal", "agentchat_evidence",
	"agentchat_arbiter_accept", "agentchat_arbiter_decline", "agentchat_arbiter_vote",
}

// listenResult is the outcome of a listen call made in the background.
type listenResult struct {
	text  string
	isErr bool
	err   error
}

// goListen calls agentchat_listen in the background (it blocks).
func goListen(cs *sdk.ClientSession, args map[string]any) <-chan listenResult {
	ch := make(chan listenResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
		defer cancel()
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "agentchat_listen", Arguments: args})
		if err != nil {
			ch <- listenResult{err: err}
			return
		}
		r := listenResult{isErr: res.IsError}
		if len(res.Content) == 1 {
			if tc, ok := res.Content[0].(*sdk.TextContent); ok {
				r.text = tc.Text
			}
		}
		ch <- r
	}()
	return ch
}

// waitListen waits for a background listen and decodes its result, which
// must be a success.
func waitListen(t testing.TB, ch <-chan listenResult) map[string]any {
	t.Helper()
	select {
	case r := <-ch:
		require.NoError(t, r.err)
		require.False(t, r.isErr, "listen failed: %s", r.text)
		var out map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.text), &out), "listen returned %q", r.text)
		return out
	case <-time.After(2 * waitTimeout):
		require.FailNow(t, "agentchat_listen did not return")
		return nil
	}
}
