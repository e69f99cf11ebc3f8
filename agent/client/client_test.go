package client_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

func TestConnectEphemeral(t *testing.T) {
	n := startNode(t)
	c := dial(t, n, client.Options{Name: "eph"})
	id := c.AgentID()
	require.True(t, strings.HasPrefix(id, "@"), id)
	require.Len(t, id, 9, "ephemeral IDs are 8 characters")
	w := c.Welcome()
	require.Equal(t, "eph", w.Name)
	require.Nil(t, w.Verified, "an ephemeral WELCOME carries no verified flag")
	rtt, err := c.Ping(ctxT(t))
	require.NoError(t, err)
	require.Positive(t, rtt)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "Close is idempotent")
	require.ErrorIs(t, c.Err(), client.ErrClosed)
	for range c.Events() { // drains, then ends: Events is closed
	}
	_, err = c.Ping(context.Background())
	require.ErrorIs(t, err, client.ErrClosed)
}

func TestConnectKeyed(t *testing.T) {
	n := startNode(t)
	alice := newIdentity(t, "alice")
	c := dial(t, n, client.Options{Identity: alice})
	require.Equal(t, "@"+alice.AgentID, c.AgentID())
	w := c.Welcome()
	require.Equal(t, "alice", w.Name, "the name defaults to the identity's")
	require.NotNil(t, w.Verified)
	require.True(t, *w.Verified, "passing the challenge makes the agent verified")
}

func TestDialRefusesPublicOnlyIdentity(t *testing.T) {
	alice := newIdentity(t, "alice")
	pub := &identity.File{PublicKey: alice.PublicKey, AgentID: alice.AgentID}
	_, err := client.Dial(context.Background(), client.Options{URL: "ws://127.0.0.1:1", Identity: pub})
	require.ErrorIs(t, err, client.ErrNoIdentity)
}

func TestJoinReplay(t *testing.T) {
	n := startNode(t, noLimits)
	a := dial(t, n, client.Options{Name: "alice", Identity: newIdentity(t, "alice")})
	ctx := ctxT(t)
	_, err := a.Join(ctx, "#agents")
	require.NoError(t, err)
	require.NoError(t, a.Send(ctx, "#agents", "first"))
	require.NoError(t, a.Send(ctx, "#agents", "second"))

	b := dial(t, n, client.Options{Name: "bob"})
	res, err := b.Join(ctx, "#agents")
	require.NoError(t, err)
	require.Equal(t, "#agents", res.Channel)
	var ids []string
	for _, m := range res.Members {
		ids = append(ids, m.ID)
	}
	require.Contains(t, ids, a.AgentID())
	require.Contains(t, ids, b.AgentID())
	var got []string
	for i, m := range res.Replay {
		require.True(t, m.Replay)
		require.Contains(t, string(res.RawReplay[i]), `"replay":true`)
		if m.From == a.AgentID() {
			got = append(got, m.Content)
		}
	}
	require.Equal(t, []string{"first", "second"}, got)
	require.Equal(t, []string{"#agents"}, b.Channels())
	// The replay was the call's answer, not events.
	noEvent(t, b, 100*time.Millisecond, func(m *protocol.MsgFrame) bool { return m.Replay })
}

func TestSendSignedToChannel(t *testing.T) {
	n := startNode(t)
	alice := newIdentity(t, "alice")
	a := dial(t, n, client.Options{Identity: alice})
	b := dial(t, n, client.Options{Name: "bob"})
	ctx := ctxT(t)
	_, err := a.Join(ctx, "#general")
	require.NoError(t, err)
	_, err = b.Join(ctx, "#general")
	require.NoError(t, err)
	require.NoError(t, a.Send(ctx, "#general", "hello <mesh> & co"))

	m := nextEvent(t, b, func(m *protocol.MsgFrame) bool { return m.From == a.AgentID() })
	require.Equal(t, "#general", m.To)
	require.Equal(t, "hello <mesh> & co", m.Content)
	require.NotEmpty(t, m.Sig, "an identity signs its messages")
	require.NotNil(t, m.SigTS, "the node relays the signed ts")
	require.True(t, identity.Verify(alice.Public(), protocol.MsgSigningString(m.To, m.Content, *m.SigTS), m.Sig),
		"the signature verifies over MsgSigningString")
	// A channel message is not echoed to its sender.
	noEvent(t, a, 100*time.Millisecond, func(m *protocol.MsgFrame) bool { return m.Content == "hello <mesh> & co" })
}

func TestDirectMessage(t *testing.T) {
	n := startNode(t, noLimits)
	a := dial(t, n, client.Options{Name: "alice", Identity: newIdentity(t, "alice")})
	b := dial(t, n, client.Options{Name: "bob", Identity: newIdentity(t, "bob")})
	ctx := ctxT(t)
	require.NoError(t, a.Send(ctx, b.AgentID(), "psst"))
	m := nextEvent(t, b, func(m *protocol.MsgFrame) bool { return m.Content == "psst" })
	require.Equal(t, a.AgentID(), m.From)
	require.Equal(t, b.AgentID(), m.To)
	require.NotEmpty(t, m.Sig)
	// The echo answered the call; it is not an event.
	noEvent(t, a, 100*time.Millisecond, func(m *protocol.MsgFrame) bool { return m.Content == "psst" })

	err := a.Send(ctx, "@nobody01", "hello?")
	require.Equal(t, string(protocol.CodeAgentNotFound), serverCode(t, err))
}

func TestListChannelsAndAgents(t *testing.T) {
	n := startNode(t)
	a := dial(t, n, client.Options{Name: "alice"})
	b := dial(t, n, client.Options{Name: "bob"})
	ctx := ctxT(t)
	chans, err := a.ListChannels(ctx)
	require.NoError(t, err)
	var names []string
	for _, ch := range chans {
		names = append(names, ch.Name)
	}
	require.Equal(t, []string{"#general", "#agents", "#discovery"}, names)
	require.Equal(t, 2, chans[0].Agents, "both agents were auto-joined")

	agents, err := a.ListAgents(ctx, "#general")
	require.NoError(t, err)
	var ids []string
	for _, ag := range agents {
		ids = append(ids, ag.ID)
		require.Equal(t, "online", ag.Presence)
	}
	require.ElementsMatch(t, []string{a.AgentID(), b.AgentID()}, ids)

	_, err = a.ListAgents(ctx, "#nope")
	require.Equal(t, string(protocol.CodeChannelNotFound), serverCode(t, err))
}

func TestPresenceAndNickEvents(t *testing.T) {
	n := startNode(t)
	a := dial(t, n, client.Options{Name: "alice"})
	b := dial(t, n, client.Options{Name: "bob"})
	ctx := ctxT(t)

	require.NoError(t, a.SetPresence(ctx, protocol.PresenceAway, "brb"))
	p := nextEvent(t, b, func(p *protocol.PresenceChanged) bool { return p.AgentID == a.AgentID() })
	require.Equal(t, "away", p.Presence)
	require.NotNil(t, p.StatusText)
	require.Equal(t, "brb", *p.StatusText)

	require.NoError(t, a.SetNick(ctx, "alicia"))
	nc := nextEvent(t, b, func(nc *protocol.NickChanged) bool { return nc.AgentID == a.AgentID() })
	require.Equal(t, "alice", nc.OldNick)
	require.Equal(t, "alicia", nc.NewNick)
	// The sender sees its own NICK_CHANGED as events too.
	nextEvent(t, a, func(nc *protocol.NickChanged) bool { return nc.NewNick == "alicia" })

	agents, err := b.ListAgents(ctx, "#general")
	require.NoError(t, err)
	found := false
	for _, ag := range agents {
		if ag.ID == a.AgentID() {
			found = true
			require.Equal(t, "alicia", ag.Name)
			require.Equal(t, "away", ag.Presence)
		}
	}
	require.True(t, found)

	err = a.SetNick(ctx, "admin")
	require.Equal(t, string(protocol.CodeInvalidName), serverCode(t, err))
}

func TestVerifyPeer(t *testing.T) {
	n := startNode(t)
	bob := newIdentity(t, "bob")
	a := dial(t, n, client.Options{Name: "alice"})
	b := dial(t, n, client.Options{Identity: bob})
	eph := dial(t, n, client.Options{Name: "eph"})
	ctx := ctxT(t)

	pub, err := a.VerifyPeer(ctx, b.AgentID())
	require.NoError(t, err)
	require.Equal(t, bob.PublicKey, pub)
	// Bob saw the request and answered it on his own.
	req := nextEvent(t, b, func(r *protocol.VerifyRequestFrame) bool { return r.From == a.AgentID() })
	require.NotEmpty(t, req.Nonce)

	// A keyed client verifies itself the same way.
	pub, err = b.VerifyPeer(ctx, strings.TrimPrefix(b.AgentID(), "@"))
	require.NoError(t, err)
	require.Equal(t, bob.PublicKey, pub)

	_, err = a.VerifyPeer(ctx, eph.AgentID())
	require.Equal(t, string(protocol.CodeNoPubkey), serverCode(t, err))
	_, err = a.VerifyPeer(ctx, "@0123456789abcdef")
	require.Equal(t, string(protocol.CodeAgentNotFound), serverCode(t, err))
}

func TestServerErrorIsTyped(t *testing.T) {
	n := startNode(t)
	c := dial(t, n, client.Options{Name: "alice"})
	_, err := c.Join(ctxT(t), "#nope")
	require.Error(t, err)
	var se *client.ServerError
	require.ErrorAs(t, err, &se)
	require.Equal(t, protocol.CodeChannelNotFound, se.Code)
	require.Equal(t, "Channel #nope not found", se.Message)
	require.ErrorIs(t, err, &client.ServerError{Code: protocol.CodeChannelNotFound})
	require.NotErrorIs(t, err, &client.ServerError{Code: protocol.CodeNotInvited})
	var pe *protocol.Error
	require.ErrorAs(t, err, &pe, "a ServerError unwraps to the protocol error")
	require.Equal(t, protocol.CodeChannelNotFound, pe.Code)
	require.Contains(t, err.Error(), "CHANNEL_NOT_FOUND: Channel #nope not found")
	require.Empty(t, c.Channels(), "a refused channel is not remembered")

	// The connection stays usable.
	_, err = c.Join(ctxT(t), "#general")
	require.NoError(t, err)
}

func TestExpiredContextReturnsPromptly(t *testing.T) {
	n := startNode(t)
	c := dial(t, n, client.Options{Name: "alice", Identity: newIdentity(t, "alice")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := c.Join(ctx, "#general")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, c.Send(ctx, "#general", "x"), context.Canceled)
	_, err = c.VerifyPeer(ctx, c.AgentID())
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.Propose(ctx, client.ProposalArgs{To: c.AgentID(), Task: "t"})
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 100*time.Millisecond)

	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	_, err = c.Ping(past)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The client is unharmed.
	_, err = c.Ping(ctxT(t))
	require.NoError(t, err)
}

func TestCallTimeout(t *testing.T) {
	n := startNode(t)
	c := dial(t, n, client.Options{Name: "alice", CallTimeout: time.Nanosecond})
	_, err := c.ListChannels(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestConcurrentCallsGetTheirOwnAnswers runs many calls at once, mixing
// ones the node refuses with ones it answers, to check that every ERROR
// goes to the request it belongs to.
func TestConcurrentCallsGetTheirOwnAnswers(t *testing.T) {
	n := startNode(t, noLimits)
	c := dial(t, n, client.Options{Name: "alice", RateLimit: -1})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 4 {
			case 0:
				if _, err := c.Join(ctx, "#nope"); serverCodeOf(err) != protocol.CodeChannelNotFound {
					errs <- errors.New("join #nope: " + errString(err))
				}
			case 1:
				if _, err := c.Join(ctx, "#agents"); err != nil {
					errs <- err
				}
			case 2:
				if err := c.SetNick(ctx, "root"); serverCodeOf(err) != protocol.CodeInvalidName {
					errs <- errors.New("nick root: " + errString(err))
				}
			case 3:
				if _, err := c.ListChannels(ctx); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func serverCodeOf(err error) protocol.Code {
	var se *client.ServerError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestRawEvents(t *testing.T) {
	n := startNode(t)
	a := dial(t, n, client.Options{Name: "alice", Identity: newIdentity(t, "alice")})
	b := dial(t, n, client.Options{Name: "bob", RawEvents: true})
	require.NoError(t, a.Send(ctxT(t), "#general", "raw"))
	ev := nextEvent(t, b, func(r *client.RawEvent) bool {
		return r.Type == protocol.TypeMsg && strings.Contains(string(r.Data), `"content":"raw"`)
	})
	require.True(t, strings.HasPrefix(string(ev.Data), `{"type":"MSG","ts":`), "exact bytes as sent: %s", ev.Data)
}

func TestOptionsChannels(t *testing.T) {
	n := startNode(t)
	c := dial(t, n, client.Options{Name: "alice", Channels: []string{"#agents", "#discovery"}})
	require.Equal(t, []string{"#agents", "#discovery"}, c.Channels())
	// The JOINED frames answered the joins; they are not events.
	noEvent[*protocol.Joined](t, c, 100*time.Millisecond, nil)

	_, err := client.Dial(ctxT(t), client.Options{URL: n.URL, Name: "bob", Channels: []string{"#nope"}})
	require.Equal(t, string(protocol.CodeChannelNotFound), serverCode(t, err))
}

func TestMarketWithoutIdentity(t *testing.T) {
	n := startNode(t)
	c := dial(t, n, client.Options{Name: "eph"})
	ctx := ctxT(t)
	_, err := c.Propose(ctx, client.ProposalArgs{To: "@0123456789abcdef", Task: "t"})
	require.ErrorIs(t, err, client.ErrNoIdentity)
	_, err = c.Accept(ctx, "prop_x", "", 0)
	require.ErrorIs(t, err, client.ErrNoIdentity)
	_, err = c.RegisterSkills(ctx, []map[string]any{{"capability": "x"}})
	require.ErrorIs(t, err, client.ErrNoIdentity)
}

func TestMarketNotEnabled(t *testing.T) {
	n := startNode(t)
	c := dial(t, n, client.Options{Identity: newIdentity(t, "alice")})
	ctx := ctxT(t)
	_, err := c.Propose(ctx, client.ProposalArgs{To: c.AgentID(), Task: "review", Expires: 300})
	require.Equal(t, string(protocol.CodeInvalidMsg), serverCode(t, err))
	require.Contains(t, err.Error(), "Marketplace is not enabled")
	res, err := c.SearchSkills(ctx, protocol.SkillQuery{Capability: "code"})
	require.NoError(t, err, "a node without a marketplace still answers searches")
	require.Empty(t, res.Results)
}

func TestLeave(t *testing.T) {
	n := startNode(t)
	a := dial(t, n, client.Options{Name: "alice"})
	b := dial(t, n, client.Options{Name: "bob"})
	ctx := ctxT(t)
	_, err := a.Join(ctx, "#agents")
	require.NoError(t, err)
	require.NoError(t, a.Leave(ctx, "#agents"))
	require.Empty(t, a.Channels())
	left := nextEvent(t, b, func(l *protocol.AgentLeft) bool { return l.Agent == a.AgentID() })
	require.Equal(t, "#agents", left.Channel)
	noEvent[*protocol.Left](t, a, 50*time.Millisecond, nil)
	require.NoError(t, a.Leave(ctx, "#unknown"), "the node ignores LEAVE of an unknown channel")
}

func TestSendFileChunk(t *testing.T) {
	n := startNode(t, noLimits)
	a := dial(t, n, client.Options{Name: "alice"})
	b := dial(t, n, client.Options{Name: "bob"})
	require.NoError(t, a.SendFileChunk(ctxT(t), b.AgentID(), `{"_ft":"chunk","tid":"t1","idx":0,"total":1,"data":"x"}`))
	fc := nextEvent(t, b, func(*protocol.FileChunkFrame) bool { return true })
	require.Equal(t, a.AgentID(), fc.From)
	require.Contains(t, fc.Content, `"tid":"t1"`)
	err := a.SendFileChunk(ctxT(t), "@nobody01", "x")
	require.Equal(t, string(protocol.CodeAgentNotFound), serverCode(t, err))
}

func TestCreateChannel(t *testing.T) {
	n := startNode(t, noLimits)
	ctx := ctxT(t)
	a := dial(t, n, client.Options{Name: "alice", Identity: newIdentity(t, "alice")})
	res, err := a.CreateChannel(ctx, "#proj", false)
	require.NoError(t, err)
	require.Equal(t, []protocol.Member{{ID: a.AgentID()}}, res.Members)
	require.Contains(t, a.Channels(), "#proj")

	_, err = a.CreateChannel(ctx, "#proj", false)
	require.Equal(t, "CHANNEL_EXISTS", serverCode(t, err))
	eph := dial(t, n, client.Options{Name: "eph"})
	_, err = eph.CreateChannel(ctx, "#other", false)
	require.Equal(t, "AUTH_REQUIRED", serverCode(t, err), "only verified agents create channels")
}
