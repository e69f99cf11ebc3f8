package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentchat/mesh/identity"
	"github.com/stretchr/testify/require"
)

// TestSigningStringVectors pins the agent signing strings to PROTOCOL.md §26.
func TestSigningStringVectors(t *testing.T) {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(i)
	}
	priv, err := identity.ParsePrivatePEM("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n-----END PRIVATE KEY-----\n")
	require.NoError(t, err)

	p := Proposal{To: "@0123456789abcdef", Task: "Review PR #42", Amount: f64(1.5), Currency: "SOL", Expires: f64(300)}
	require.Equal(t, "@0123456789abcdef|Review PR #42|1.5|SOL||300|", p.SigningString())
	require.Equal(t, "DPMNkvZcdPu3TAr5gRqaQz0ix9VRdX15vdtXMA7rYP7SyDMvlObzR/4hcB8t71MsZyoYtLv3xdBqWMNWV4HoCg==",
		identity.Sign(priv, p.SigningString()))

	a := Accept{EloStake: i64(25)}
	require.Equal(t, "ACCEPT|prop_lq2x0abc_0badf00d||25", a.SigningString("prop_lq2x0abc_0badf00d"))
	require.Equal(t, "pApRdcicZ2YPhlEPhXOOB1/1cUGQ/7cHoU3mjn2g+1fV/QyAVk+UPt1718rSqF+nEo38uBjUs8jLE+cbhkh4DA==",
		identity.Sign(priv, a.SigningString("prop_lq2x0abc_0badf00d")))

	require.Equal(t, "COMPLETE|p1|done", (&Outcome{Kind: KindComplete, Proof: "done"}).SigningString("p1"))
	require.Equal(t, "DISPUTE|p1|late", (&Outcome{Kind: KindDispute, Reason: "late"}).SigningString("p1"))
	require.Empty(t, (&Outcome{Kind: "other"}).SigningString("p1"))
}

func TestVerifyOK(t *testing.T) {
	cases := []struct {
		name string
		s    rspec
	}{
		{"completion by proposer", rspec{}},
		{"completion by recipient", rspec{by: &bob, proof: "https://example.com/pr/42"}},
		{"dispute by proposer", rspec{kind: KindDispute}},
		{"dispute by recipient", rspec{kind: KindDispute, by: &bob}},
		{"amount and stakes", rspec{amount: f64(1.5), propStake: i64(10), accStake: i64(5)}},
		{"unicode and escapes", rspec{task: "naïve \"quotes\" \\ <tag> & \u2028 \t tab | pipe"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.s.signed(t)
			require.NoError(t, Verify(&r))
			require.Equal(t, tc.s.fill().id, r.ID())

			// The JSON is canonical and round-trips exactly. (json.Marshal
			// HTML-escapes Marshaler output; an Encoder without that keeps it.)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			require.NoError(t, enc.Encode(r))
			require.Equal(t, string(r.CanonicalJSON())+"\n", buf.String())
			js, err := json.Marshal(r)
			require.NoError(t, err)
			back, err := DecodeReceipt(js)
			require.NoError(t, err)
			require.Equal(t, r, back)
			require.NoError(t, Verify(&back))
		})
	}
}

func TestSigningBytesFormat(t *testing.T) {
	r := rspec{amount: f64(1e21), propStake: i64(7)}.signed(t)
	sb := string(r.SigningBytes())
	require.True(t, strings.HasPrefix(sb, "AGENTCHAT_RECEIPT_V1\n{\"version\":1,\"proposal\":{\"proposal_id\":"))
	require.Contains(t, sb, `"amount":1e+21,`)
	require.Contains(t, sb, `"expires":null,"elo_stake":7,`)
	require.NotContains(t, sb, "node_sig")
	require.True(t, strings.HasSuffix(string(r.CanonicalJSON()), `,"node_sig":"`+r.NodeSig+`"}`))
}

func TestVerifyRejects(t *testing.T) {
	base := rspec{kind: KindComplete, proof: "done", amount: f64(3), accStake: i64(2)}
	// recounter re-countersigns after the mutation, so only the named check fails.
	recounter := func(r *Receipt) { require.NoError(t, r.Countersign(nodeA)) }
	cases := []struct {
		name   string
		mutate func(r *Receipt)
		want   error
	}{
		{"task changed", func(r *Receipt) { r.Proposal.Task += "!"; recounter(r) }, ErrBadProposalSig},
		{"amount changed", func(r *Receipt) { r.Proposal.Amount = f64(4); recounter(r) }, ErrBadProposalSig},
		{"proposal signed by recipient", func(r *Receipt) {
			r.Proposal.Sig = identity.Sign(bob.priv, r.Proposal.SigningString())
			recounter(r)
		}, ErrBadProposalSig},
		{"accept stake changed", func(r *Receipt) { r.Accept.EloStake = i64(3); recounter(r) }, ErrBadAcceptSig},
		{"accept signed by proposer", func(r *Receipt) {
			r.Accept.Sig = identity.Sign(alice.priv, r.Accept.SigningString(r.ID()))
			recounter(r)
		}, ErrBadAcceptSig},
		{"proof changed", func(r *Receipt) { r.Outcome.Proof = "other"; recounter(r) }, ErrBadOutcomeSig},
		{"outcome by a non-party", func(r *Receipt) {
			r.Outcome.By = mal.id
			r.Outcome.Sig = identity.Sign(mal.priv, r.Outcome.SigningString(r.ID()))
			forceCountersign(r, nodeA) // Countersign itself refuses this
		}, ErrNotParty},
		{"outcome by proposer signed by a non-party key", func(r *Receipt) {
			r.Outcome.Sig = identity.Sign(mal.priv, r.Outcome.SigningString(r.ID()))
			recounter(r)
		}, ErrBadOutcomeSig},
		{"outcome claims recipient, signed by proposer", func(r *Receipt) {
			r.Outcome.By = bob.id
			recounter(r)
		}, ErrBadOutcomeSig},
		{"from key swapped", func(r *Receipt) { r.FromPubkey = mal.pem; recounter(r) }, ErrKeyMismatch},
		{"from identity swapped", func(r *Receipt) {
			r.FromPubkey, r.Proposal.From, r.Outcome.By = mal.pem, mal.id, mal.id
			r.Outcome.Sig = identity.Sign(mal.priv, r.Outcome.SigningString(r.ID()))
			recounter(r)
		}, ErrBadProposalSig},
		{"proposal ID changed", func(r *Receipt) { r.Proposal.ProposalID = "prop_other"; recounter(r) }, ErrBadAcceptSig},
		{"terms changed after countersigning", func(r *Receipt) { r.Proposal.Terms = "net 30" }, ErrBadCountersig},
		{"settled_at changed after countersigning", func(r *Receipt) { r.Outcome.SettledAt++ }, ErrBadCountersig},
		{"countersigned by another node", func(r *Receipt) {
			pub := r.NodePubkey
			recounterWith(t, r, nodeB)
			r.NodePubkey = pub
		}, ErrBadCountersig},
		{"node signature missing", func(r *Receipt) { r.NodeSig = "" }, ErrMalformed},
		{"version 2", func(r *Receipt) { r.Version = 2 }, ErrMalformed},
		{"unknown kind", func(r *Receipt) { r.Outcome.Kind = "refund" }, ErrMalformed},
		{"completion with reason", func(r *Receipt) { r.Outcome.Reason = "x" }, ErrMalformed},
		{"self dealing", func(r *Receipt) { r.Proposal.To = r.Proposal.From }, ErrMalformed},
		{"path in proposal ID", func(r *Receipt) { r.Proposal.ProposalID = "../x" }, ErrMalformed},
		{"settled before accepted", func(r *Receipt) { r.Outcome.SettledAt = r.Accept.AcceptedAt - 1 }, ErrMalformed},
		{"bad PEM", func(r *Receipt) { r.FromPubkey = "nope" }, ErrKeyMismatch},
		{"upper-case node key", func(r *Receipt) { r.NodePubkey = strings.ToUpper(r.NodePubkey) }, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := base.signed(t)
			tc.mutate(&r)
			err := Verify(&r)
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), r.ID())
		})
	}
}

func recounterWith(t *testing.T, r *Receipt, key []byte) {
	t.Helper()
	require.NoError(t, r.Countersign(key))
}

func TestBuildRefusesBadSignatures(t *testing.T) {
	r := rspec{}.signed(t)
	p := r.Proposal
	p.Task = "changed"
	_, err := Build(p, r.Accept, r.Outcome, r.FromPubkey, r.ToPubkey, nodeA)
	require.ErrorIs(t, err, ErrBadProposalSig)
	_, err = Build(r.Proposal, r.Accept, r.Outcome, r.FromPubkey, r.ToPubkey, nodeA[:10])
	require.ErrorIs(t, err, ErrMalformed)
}

func TestDecodeReceiptRejects(t *testing.T) {
	r := rspec{}.signed(t)
	good := string(r.CanonicalJSON())
	cases := []struct {
		name, in, msg string
	}{
		{"empty", "", "EOF"},
		{"not JSON", "hello", "invalid character"},
		{"null", "null", "unsupported receipt version 0"},
		{"array", "[]", "cannot unmarshal array"},
		{"unknown member", strings.Replace(good, `{"version":1,`, `{"version":1,"extra":true,`, 1), `unknown field "extra"`},
		{"unknown nested member", strings.Replace(good, `"accept":{`, `"accept":{"x":1,`, 1), `unknown field "x"`},
		{"trailing data", good + "{}", "trailing data"},
		{"version 2", strings.Replace(good, `"version":1`, `"version":2`, 1), "unsupported receipt version 2"},
		{"stake not an integer", strings.Replace(good, `"accept":{"payment_code":"","elo_stake":null`, `"accept":{"payment_code":"","elo_stake":1.5`, 1), "cannot unmarshal number 1.5"},
		{"missing signature", strings.Replace(good, `"kind":"complete"`, `"kind":"complete","sig":"","x":0`, 1), "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeReceipt([]byte(tc.in))
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrMalformed), "%v", err)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

// forceCountersign signs r's bytes with key without any validation, to
// build receipts a node would refuse to countersign.
func forceCountersign(r *Receipt, key ed25519.PrivateKey) {
	r.NodePubkey = hex.EncodeToString(key.Public().(ed25519.PublicKey))
	r.NodeSig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, r.SigningBytes()))
}

func TestCountersignRefusesNonParty(t *testing.T) {
	r := rspec{}.signed(t)
	r.Outcome.By = mal.id
	require.ErrorIs(t, r.Countersign(nodeA), ErrNotParty)
}
