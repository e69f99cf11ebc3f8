// Tests of issue 18 (marketplace integrity): self-dealing, a clock
// stepped back, rated vs settled counts.
package market_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// TestProposalToSelfIsRefused pins issue 18.1: a PROPOSAL whose `to` is the
// sender is refused at once with INVALID_PROPOSAL SELF_PROPOSAL and never
// becomes a proposal (no echo, nothing to accept), so the settlement path,
// whose receipt could never be stored, is unreachable.
func TestProposalToSelfIsRefused(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	sig := a.sign(protocol.ProposalSigningString(a.at(), "rate myself", nil, "", "", nil, nil))
	require.NoError(t, a.Send(map[string]any{"type": "PROPOSAL", "to": a.at(), "task": "rate myself", "sig": sig}))
	a.expectError(t, "INVALID_PROPOSAL", "SELF_PROPOSAL")

	// The connection is fine and a real proposal still works end to end.
	settle(t, a, b, false)
	r, tx := e.reputation(a)
	require.EqualValues(t, 1208, r)
	require.Equal(t, 1, tx)
}

// TestOneKeyUnderTwoIDsCannotTrade pins the other half of 18.1: agent IDs
// hash the PEM text as sent, so one key connected with a PEM written
// differently (CRLF line ends) is a second ID. A proposal between the two
// is refused at ACCEPT, where both keys are known, and stays pending.
func TestOneKeyUnderTwoIDsCannotTrade(t *testing.T) {
	e := start(t, 0)
	_, priv, err := identity.GenerateKey()
	require.NoError(t, err)
	a := &party{Agent: identifyPEM(t, e, "alice", priv, false), priv: priv}
	twin := &party{Agent: identifyPEM(t, e, "alice-twin", priv, true), priv: priv}
	require.NotEqual(t, a.ID, twin.ID, "one key, two PEM texts, two IDs")

	id := a.propose(t, twin, "rate myself", 0)
	twin.next(t, "PROPOSAL")
	twin.accept(t, id, 0)
	twin.expectError(t, "INVALID_PROPOSAL", "SELF_PROPOSAL")
	a.complete(t, id)
	a.expectError(t, "INVALID_PROPOSAL", "PROPOSAL_NOT_ACCEPTED")
}

// identifyPEM connects an agent that sends its key's PEM, with CRLF line
// ends if crlf.
func identifyPEM(t *testing.T, e *env, name string, priv ed25519.PrivateKey, crlf bool) *testnet.Agent {
	t.Helper()
	ag, err := testnet.Dial(ctxFor(t), e.node.WS())
	require.NoError(t, err)
	t.Cleanup(func() { ag.Close() })
	pem := identity.EncodePublicPEM(priv.Public().(ed25519.PublicKey))
	if crlf {
		pem = strings.ReplaceAll(pem, "\n", "\r\n")
	}
	require.NoError(t, ag.Send(map[string]any{"type": "IDENTIFY", "name": name, "pubkey": pem}))
	ch, err := ag.Next(ctxFor(t), "CHALLENGE")
	require.NoError(t, err)
	ts := float64(time.Now().UnixMilli())
	require.NoError(t, ag.Send(map[string]any{"type": "VERIFY_IDENTITY", "challenge_id": ch.String("challenge_id"),
		"signature": identity.SignChallenge(priv, ch.String("nonce"), ch.String("challenge_id"), ts), "timestamp": ts}))
	w, err := ag.Next(ctxFor(t), "WELCOME")
	require.NoError(t, err)
	ag.Name, ag.ID = name, w.String("agent_id")[1:]
	return ag
}

// TestClockStepBackStillSettles pins the rest of 18.1: the settlement path
// never reaches a receipt the store refuses. A wall clock stepped back
// between ACCEPT and COMPLETE used to give settled_at < accepted_at, a
// malformed receipt, and "Settlement could not be stored" with the
// proposal stuck in accepted.
func TestClockStepBackStillSettles(t *testing.T) {
	var back atomic.Int64 // ms the clock is set back by
	cfg := testnet.LocalNodeConfig(t.TempDir())
	cfg.Node.RateLimits = false
	cfg.Market.MinAge = 0
	cfg.Market.Now = func() time.Time { return time.Now().Add(-time.Duration(back.Load()) * time.Millisecond) }
	n, err := testnet.StartNode(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	e := &env{t: t, node: n}
	a, b := e.party("alice"), e.party("bob")

	id := a.propose(t, b, "task", 0)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	b.next(t, "ACCEPT")
	back.Store(60_000)
	a.complete(t, id)
	f := a.next(t, "COMPLETE")
	require.Equal(t, "completed", f.String("status"))
}

// TestReputationShowsSettledAndRated pins issue 18.2 end to end: three
// completions of one pair within the hour are three receipts, one rated.
// /reputation says transactions 1, settled 3; the exported bundle verifies
// all three and its report agrees (1 counted, 3 settled, 2 unrated).
func TestReputationShowsSettledAndRated(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	for range 3 {
		settle(t, a, b, false)
	}
	resp, err := http.Get(e.node.HTTP() + "/reputation/" + a.ID)
	require.NoError(t, err)
	var r struct {
		Rating       float64        `json:"rating"`
		Transactions int            `json:"transactions"`
		Settled      int            `json:"settled"`
		Unrated      map[string]int `json:"unrated"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	resp.Body.Close()
	require.Equal(t, 1208.0, r.Rating)
	require.Equal(t, 1, r.Transactions)
	require.Equal(t, 3, r.Settled)
	require.Equal(t, map[string]int{ledger.UnratedCooldown: 2}, r.Unrated, "the gap, explained")

	resp, err = http.Get(e.node.HTTP() + "/receipts?agent=" + a.ID)
	require.NoError(t, err)
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	bundle, err := ledger.DecodeBundle(data)
	require.NoError(t, err)
	rep, err := ledger.VerifyBundle(bundle)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Receipts)
	require.Equal(t, 2, rep.Unrated)
	require.Equal(t, map[string]int{ledger.UnratedCooldown: 2}, rep.UnratedBy)
	got := rep.Table.Get(a.at())
	require.Equal(t, r.Rating, got.Rating)
	require.Equal(t, r.Transactions, got.Transactions)
	require.Equal(t, r.Settled, got.Settled)
}

// TestRotationChainCannotTrade pins the rotation half of 18.1: once the
// node holds a rotation record, the old and the new key are one agent. A
// PROPOSAL between them is refused, and so is the ACCEPT of one made
// before the node learnt of the rotation.
func TestRotationChainCannotTrade(t *testing.T) {
	e := start(t, 0)
	f, err := identity.New("alice")
	require.NoError(t, err)
	old := partyWithKey(t, e.node, "alice", f.Private())
	next, err := f.Rotate(time.Now())
	require.NoError(t, err)
	cur := partyWithKey(t, e.node, "alice-new", next.Private())
	early := old.propose(t, cur, "made before the record", 0)
	cur.next(t, "PROPOSAL")

	post(t, e.node, ledger.IdentityRecord{Rotation: &next.Rotations[0]})
	require.True(t, e.node.Market.SameAgent(old.at(), cur.at()))
	sig := old.sign(protocol.ProposalSigningString(cur.at(), "rate myself", nil, "", "", nil, nil))
	require.NoError(t, old.Send(map[string]any{"type": "PROPOSAL", "to": cur.at(), "task": "rate myself", "sig": sig}))
	old.expectError(t, "INVALID_PROPOSAL", "SELF_PROPOSAL")
	cur.accept(t, early, 0)
	cur.expectError(t, "INVALID_PROPOSAL", "SELF_PROPOSAL")
}
