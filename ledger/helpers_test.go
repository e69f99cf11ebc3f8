package ledger

import (
	"crypto/ed25519"
	"testing"

	"github.com/agentchat/mesh/identity"
	"github.com/stretchr/testify/require"
)

// party is a test agent with a deterministic key.
type party struct {
	priv ed25519.PrivateKey
	pem  string
	id   string // "@id"
}

func newParty(seed byte) party {
	var s [ed25519.SeedSize]byte
	for i := range s {
		s[i] = seed + byte(i)
	}
	priv := ed25519.NewKeyFromSeed(s[:])
	pem := identity.EncodePublicPEM(priv.Public().(ed25519.PublicKey))
	return party{priv: priv, pem: pem, id: "@" + identity.AgentID(pem)}
}

func nodeKey(seed byte) ed25519.PrivateKey { return newParty(seed).priv }

var (
	alice = newParty(1)
	bob   = newParty(2)
	carol = newParty(3)
	mal   = newParty(4) // not a party to anything
	nodeA = nodeKey(100)
	nodeB = nodeKey(101)
)

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

// rspec describes a receipt for tests; zero fields take defaults.
type rspec struct {
	id        string
	from, to  party
	task      string
	amount    *float64
	propStake *int64
	accStake  *int64
	kind      string // default complete
	by        *party // default from
	created   int64  // default settled-120000
	settled   int64  // default 1_700_000_000_000
	proof     string
	reason    string
	node      ed25519.PrivateKey // default nodeA
}

func (s rspec) fill() rspec {
	if s.id == "" {
		s.id = "prop_test_00000001"
	}
	if s.from.priv == nil {
		s.from = alice
	}
	if s.to.priv == nil {
		s.to = bob
	}
	if s.task == "" {
		s.task = "Review PR #42"
	}
	if s.kind == "" {
		s.kind = KindComplete
	}
	if s.by == nil {
		s.by = &s.from
	}
	if s.settled == 0 {
		s.settled = 1_700_000_000_000
	}
	if s.created == 0 {
		s.created = s.settled - 120_000
	}
	if s.kind == KindDispute && s.reason == "" {
		s.reason = "did not deliver"
	}
	if s.node == nil {
		s.node = nodeA
	}
	return s
}

// unsigned returns the receipt of s without any signatures, for the fold
// (which does not verify).
func (s rspec) unsigned() Receipt {
	s = s.fill()
	return Receipt{
		Version: ReceiptVersion,
		Proposal: Proposal{
			ProposalID: s.id, From: s.from.id, To: s.to.id, Task: s.task, Amount: s.amount,
			EloStake: s.propStake, CreatedAt: s.created,
		},
		Accept:     Accept{EloStake: s.accStake, AcceptedAt: s.created + 1000},
		Outcome:    Outcome{Kind: s.kind, By: s.by.id, Proof: s.proof, Reason: s.reason, SettledAt: s.settled},
		FromPubkey: s.from.pem,
		ToPubkey:   s.to.pem,
	}
}

// signed returns the receipt of s with every signature, built with Build.
func (s rspec) signed(t testing.TB) Receipt {
	t.Helper()
	s = s.fill()
	r := s.unsigned()
	p, a, o := r.Proposal, r.Accept, r.Outcome
	p.Sig = identity.Sign(s.from.priv, p.SigningString())
	a.Sig = identity.Sign(s.to.priv, a.SigningString(p.ProposalID))
	o.Sig = identity.Sign(s.by.priv, o.SigningString(p.ProposalID))
	out, err := Build(p, a, o, s.from.pem, s.to.pem, s.node)
	require.NoError(t, err)
	return out
}
