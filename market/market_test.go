package market_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// env is one full node with a marketplace, and helpers to drive it.
type env struct {
	t    *testing.T
	node *testnet.Node
}

func start(t *testing.T, minAge time.Duration) *env {
	t.Helper()
	cfg := testnet.LocalNodeConfig(t.TempDir())
	cfg.Node.RateLimits = false
	cfg.Market.MinAge = minAge
	n, err := testnet.StartNode(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	return &env{t: t, node: n}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// party is an agent with a key.
type party struct {
	*testnet.Agent
	priv ed25519.PrivateKey
}

func (e *env) party(name string) *party {
	e.t.Helper()
	_, priv, err := identity.GenerateKey()
	require.NoError(e.t, err)
	a, err := testnet.Dial(ctxFor(e.t), e.node.WS())
	require.NoError(e.t, err)
	e.t.Cleanup(func() { a.Close() })
	_, err = a.Identify(ctxFor(e.t), name, priv)
	require.NoError(e.t, err)
	return &party{Agent: a, priv: priv}
}

func (p *party) at() string { return "@" + p.ID }

func (p *party) sign(s string) string { return identity.Sign(p.priv, s) }

// propose sends a signed PROPOSAL and returns the echoed proposal's ID.
func (p *party) propose(t *testing.T, to *party, task string, stake int64) string {
	t.Helper()
	var st *int64
	msg := map[string]any{"type": "PROPOSAL", "to": to.at(), "task": task}
	if stake > 0 {
		st = &stake
		msg["elo_stake"] = stake
	}
	msg["sig"] = p.sign(protocol.ProposalSigningString(to.at(), task, nil, "", "", nil, st))
	require.NoError(t, p.Send(msg))
	f := p.next(t, "PROPOSAL")
	require.Equal(t, p.at(), f.String("from"))
	return f.String("id")
}

func (p *party) accept(t *testing.T, id string, stake int64) {
	t.Helper()
	var st *int64
	msg := map[string]any{"type": "ACCEPT", "proposal_id": id}
	if stake > 0 {
		st = &stake
		msg["elo_stake"] = stake
	}
	msg["sig"] = p.sign(protocol.AcceptSigningString(id, "", st))
	require.NoError(t, p.Send(msg))
}

func (p *party) complete(t *testing.T, id string) {
	t.Helper()
	require.NoError(t, p.Send(map[string]any{"type": "COMPLETE", "proposal_id": id, "proof": "done",
		"sig": p.sign(protocol.CompleteSigningString(id, "done"))}))
}

func (p *party) next(t *testing.T, types ...string) testnet.Frame {
	t.Helper()
	f, err := p.Next(ctxFor(t), append(types, "ERROR")...)
	require.NoError(t, err)
	require.NotEqual(t, "ERROR", f.Type, "%s got %s", p.Name, f.Raw)
	return f
}

func (p *party) expectError(t *testing.T, code, message string) {
	t.Helper()
	f, err := p.Next(ctxFor(t), "ERROR")
	require.NoError(t, err)
	require.Equal(t, code, f.String("code"), "%s", f.Raw)
	if message != "" {
		require.Equal(t, message, f.String("message"))
	}
}

func (e *env) reputation(p *party) (rating float64, tx int) {
	e.t.Helper()
	resp, err := http.Get(e.node.HTTP() + "/reputation/" + p.ID)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var r struct {
		Rating       float64 `json:"rating"`
		Transactions int     `json:"transactions"`
	}
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&r))
	return r.Rating, r.Transactions
}

func TestCompleteLifecycle(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	id := a.propose(t, b, "review PR #42", 0)
	require.Equal(t, id, b.next(t, "PROPOSAL").String("id"))

	b.accept(t, id, 10)
	require.Equal(t, "accepted", a.next(t, "ACCEPT").String("status"))
	b.next(t, "ACCEPT") // the echo

	a.complete(t, id)
	for _, p := range []*party{a, b} {
		f := p.next(t, "COMPLETE")
		require.Equal(t, a.at(), f.String("completed_by"))
		changes := f.Data["rating_changes"].(map[string]any)
		require.EqualValues(t, 8, changes[a.at()].(map[string]any)["change"], "§12.2: +8 each")
		require.EqualValues(t, 8, changes[b.at()].(map[string]any)["change"])
	}
	r, tx := e.reputation(a)
	require.EqualValues(t, 1208, r)
	require.Equal(t, 1, tx)

	// The receipt is exported as a bundle that verifies anywhere.
	resp, err := http.Get(e.node.HTTP() + "/receipts?agent=" + a.ID)
	require.NoError(t, err)
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	bundle, err := ledger.DecodeBundle(data)
	require.NoError(t, err)
	rep, err := ledger.VerifyBundle(bundle)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Receipts)
	require.Equal(t, id, bundle.Entries[0].Receipt.ID())
}

func TestDisputeMovesStakes(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	id := a.propose(t, b, "build it", 5)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 10)
	a.next(t, "ACCEPT")
	b.next(t, "ACCEPT")
	require.NoError(t, a.Send(map[string]any{"type": "DISPUTE", "proposal_id": id, "reason": "not delivered",
		"sig": a.sign(protocol.DisputeSigningString(id, "not delivered"))}))
	f := b.next(t, "DISPUTE")
	require.Equal(t, a.at(), f.String("disputed_by"))
	changes := f.Data["rating_changes"].(map[string]any)
	// Bob is at fault: −16 − his stake 10; Alice +8 + 10 (§12.1).
	require.EqualValues(t, -26, changes[b.at()].(map[string]any)["change"])
	require.EqualValues(t, 18, changes[a.at()].(map[string]any)["change"])
	rb, _ := e.reputation(b)
	require.EqualValues(t, 1174, rb)
}

func TestWrongPartyAndWrongStateErrors(t *testing.T) {
	e := start(t, 0)
	a, b, c := e.party("alice"), e.party("bob"), e.party("carol")
	id := a.propose(t, b, "task", 0)
	b.next(t, "PROPOSAL")

	a.accept(t, id, 0) // the proposer cannot accept
	a.expectError(t, "INVALID_PROPOSAL", "NOT_PROPOSAL_RECIPIENT")
	require.NoError(t, c.Send(map[string]any{"type": "REJECT", "proposal_id": id, "sig": c.sign(protocol.RejectSigningString(id, ""))}))
	c.expectError(t, "INVALID_PROPOSAL", "NOT_PROPOSAL_RECIPIENT")
	a.complete(t, id) // not accepted yet
	a.expectError(t, "INVALID_PROPOSAL", "PROPOSAL_NOT_ACCEPTED")
	b.accept(t, "prop_nope_00000000", 0)
	b.expectError(t, "PROPOSAL_NOT_FOUND", "")

	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	b.next(t, "ACCEPT")
	b.accept(t, id, 0) // twice
	b.expectError(t, "INVALID_PROPOSAL", "PROPOSAL_NOT_PENDING")
	c.complete(t, id) // a third party
	c.expectError(t, "INVALID_PROPOSAL", "NOT_PROPOSAL_PARTY")
	require.NoError(t, b.Send(map[string]any{"type": "REJECT", "proposal_id": id, "sig": b.sign(protocol.RejectSigningString(id, ""))}))
	b.expectError(t, "INVALID_PROPOSAL", "PROPOSAL_NOT_PENDING")
}

func TestForgedReplayedAndMissingSignatures(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	// Signed by the wrong key.
	require.NoError(t, a.Send(map[string]any{"type": "PROPOSAL", "to": b.at(), "task": "x",
		"sig": b.sign(protocol.ProposalSigningString(b.at(), "x", nil, "", "", nil, nil))}))
	a.expectError(t, "VERIFICATION_FAILED", "Invalid signature")
	// A real signature replayed over different content.
	sig := a.sign(protocol.ProposalSigningString(b.at(), "small job", nil, "", "", nil, nil))
	require.NoError(t, a.Send(map[string]any{"type": "PROPOSAL", "to": b.at(), "task": "big job", "sig": sig}))
	a.expectError(t, "VERIFICATION_FAILED", "Invalid signature")
	// Ephemeral agents cannot sign.
	eph, err := testnet.Dial(ctxFor(t), e.node.WS())
	require.NoError(t, err)
	defer eph.Close()
	_, err = eph.Identify(ctxFor(t), "eph", nil)
	require.NoError(t, err)
	require.NoError(t, eph.Send(map[string]any{"type": "PROPOSAL", "to": b.at(), "task": "x", "sig": "AAAA"}))
	f, err := eph.Next(ctxFor(t), "ERROR")
	require.NoError(t, err)
	require.Equal(t, "SIGNATURE_REQUIRED", f.String("code"))
	// A proposal to nobody.
	require.NoError(t, a.Send(map[string]any{"type": "PROPOSAL", "to": "@0000000000000000", "task": "x",
		"sig": a.sign(protocol.ProposalSigningString("@0000000000000000", "x", nil, "", "", nil, nil))}))
	a.expectError(t, "AGENT_NOT_FOUND", "Agent @0000000000000000 not found")
}

func TestInsufficientReputation(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	id := a.propose(t, b, "task", 2000)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	b.expectError(t, "INSUFFICIENT_REPUTATION", "Proposer: Insufficient ELO. Available: 1100, Requested: 2000")
	id2 := a.propose(t, b, "task 2", 0)
	b.next(t, "PROPOSAL")
	b.accept(t, id2, 1101)
	b.expectError(t, "INSUFFICIENT_REPUTATION", "Acceptor: Insufficient ELO. Available: 1100, Requested: 1101")
}

func TestCompleteTooEarly(t *testing.T) {
	e := start(t, time.Minute)
	a, b := e.party("alice"), e.party("bob")
	id := a.propose(t, b, "task", 0)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	a.complete(t, id)
	f, err := a.Next(ctxFor(t), "ERROR")
	require.NoError(t, err)
	require.Equal(t, "RATE_LIMITED", f.String("code"))
	require.Contains(t, f.String("message"), "Proposal must be at least 60s old before completion")
}

func TestExpiryNotifiesAndReleasesEscrow(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	stake := int64(20)
	msg := map[string]any{"type": "PROPOSAL", "to": b.at(), "task": "quick", "expires": 1, "elo_stake": stake,
		"sig": a.sign(protocol.ProposalSigningString(b.at(), "quick", nil, "", "", ptr(1.0), &stake))}
	require.NoError(t, a.Send(msg))
	id := a.next(t, "PROPOSAL").String("id")
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	_, held := escrowOf(e, id)
	require.True(t, held, "stakes are escrowed at ACCEPT")
	for _, p := range []*party{a, b} {
		for {
			f := p.next(t, "MSG")
			if f.String("content") == fmt.Sprintf("Proposal %s expired", id) {
				break
			}
		}
	}
	require.Eventually(t, func() bool {
		rec, _ := escrowOf(e, id)
		return rec == ledger.EscrowReleased
	}, 5*time.Second, 20*time.Millisecond)
	a.complete(t, id)
	a.expectError(t, "INVALID_PROPOSAL", "PROPOSAL_NOT_ACCEPTED")
}

func escrowOf(e *env, id string) (string, bool) {
	return e.node.Market.EscrowStatus(id)
}

func ptr[T any](v T) *T { return &v }

func TestSkillsRegisterAndSearch(t *testing.T) {
	e := start(t, 0)
	a := e.party("alice")
	skills := json.RawMessage(`[{"capability":"code_review","rate":5,"currency":"TEST"}]`)
	jsr, err := protocol.JSR(skills)
	require.NoError(t, err)
	require.NoError(t, a.Send(map[string]any{"type": "REGISTER_SKILLS", "skills": skills,
		"sig": a.sign(protocol.RegisterSkillsSigningString(jsr))}))
	f := a.next(t, "SKILLS_REGISTERED")
	require.EqualValues(t, 1, f.Data["skills_count"])
	require.NoError(t, a.Send(map[string]any{"type": "SEARCH_SKILLS", "query": map[string]any{"capability": "review"}, "query_id": "q1"}))
	f = a.next(t, "SEARCH_RESULTS")
	require.Equal(t, "q1", f.String("query_id"))
	require.EqualValues(t, 1, f.Data["total"])
	hit := f.Data["results"].([]any)[0].(map[string]any)
	require.Equal(t, a.at(), hit["agent_id"])
	require.EqualValues(t, 1200, hit["agent_rating"])
	// A bad signature is refused.
	require.NoError(t, a.Send(map[string]any{"type": "REGISTER_SKILLS", "skills": skills, "sig": a.sign("other")}))
	a.expectError(t, "VERIFICATION_FAILED", "Invalid signature")
}
