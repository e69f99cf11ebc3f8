package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

var arbiterKeys = []party{newParty(10), newParty(11), newParty(12), newParty(13)}

// vspec describes a verdict receipt: bob disputes alice's proposal unless
// disputant says otherwise; votes are the first seats' votes ("" forfeits,
// "declined" declines); mutate tampers with the countersigned case.
type vspec struct {
	votes     []string
	disputant *party
	mutate    func(c *Court)
}

// verdictReceipt builds and countersigns the receipt of a case as the
// market would.
func verdictReceipt(t testing.TB, v vspec) Receipt {
	t.Helper()
	s := rspec{kind: KindVerdict}
	if v.disputant != nil {
		s.by = v.disputant
	} else {
		s.by = &bob
	}
	s = s.fill()
	r := s.unsigned()
	p, a, o := r.Proposal, r.Accept, r.Outcome
	p.Sig = identity.Sign(s.from.priv, p.SigningString())
	a.Sig = identity.Sign(s.to.priv, a.SigningString(p.ProposalID))
	nonce := "00112233445566778899aabbccddeeff"
	c := &Court{DisputeID: "disp_test_00000001", Commitment: protocol.Commitment(nonce), Nonce: nonce,
		RevealSig:   identity.Sign(s.by.priv, protocol.DisputeRevealSigningString(p.ProposalID, nonce)),
		ServerNonce: "ffeeddccbbaa99887766554433221100"}
	keys := map[string]party{}
	for _, k := range arbiterKeys {
		c.Pool = append(c.Pool, k.id)
		keys[k.id] = k
	}
	c.Pool = sortedIDs(c.Pool)
	order := protocol.SeededShuffle(c.Pool, c.Seed(p.ProposalID))
	var cast []string
	for i, vote := range v.votes {
		seat := Seat{Arbiter: order[i], Status: SeatForfeited}
		switch vote {
		case "":
		case SeatDeclined:
			seat.Status = SeatDeclined
		default:
			k := keys[order[i]]
			seat = Seat{Arbiter: k.id, Status: SeatVoted, Pubkey: k.pem, Verdict: vote, Reasoning: "r",
				Sig: identity.Sign(k.priv, protocol.ArbiterVoteSigningString(c.DisputeID, vote))}
			cast = append(cast, vote)
		}
		c.Seats = append(c.Seats, seat)
	}
	c.Verdict = Tally(cast)
	o.Reason, o.Court = "not delivered", c
	o.Sig = identity.Sign(s.by.priv, o.SigningString(p.ProposalID))
	r = Receipt{Version: ReceiptVersion, Proposal: p, Accept: a, Outcome: o, FromPubkey: s.from.pem, ToPubkey: s.to.pem}
	require.NoError(t, r.Countersign(s.node))
	if v.mutate != nil { // after countersigning, which would refuse it
		v.mutate(r.Outcome.Court)
	}
	return r
}

func sortedIDs(ids []string) []string {
	out := append([]string(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A verdict receipt verifies offline and survives its canonical JSON.
func TestVerdictReceiptVerifies(t *testing.T) {
	r := verdictReceipt(t, vspec{votes: []string{"declined", VerdictDisputant, VerdictDisputant, VerdictRespondent}})
	require.NoError(t, Verify(&r))
	back, err := DecodeReceipt(r.CanonicalJSON())
	require.NoError(t, err)
	require.Equal(t, r.CanonicalJSON(), back.CanonicalJSON())
	require.NoError(t, Verify(&back))
}

// Every part of the case is checked: the commitment, the seats against the
// seeded shuffle, the tally, each vote's key and signature.
func TestVerdictReceiptTampered(t *testing.T) {
	votes := []string{VerdictDisputant, VerdictDisputant, VerdictRespondent}
	tests := []struct {
		name   string
		mutate func(c *Court)
		want   error
	}{
		{"nonce", func(c *Court) { c.Nonce = "ff" + c.Nonce[2:] }, ErrMalformed},
		{"seat order", func(c *Court) { c.Seats[0], c.Seats[1] = c.Seats[1], c.Seats[0] }, ErrMalformed},
		{"verdict is not the tally", func(c *Court) { c.Verdict = VerdictMutual }, ErrMalformed},
		{"changed vote", func(c *Court) { c.Seats[2].Verdict = VerdictDisputant; c.Verdict = VerdictDisputant }, ErrBadOutcomeSig},
		{"vote by another key", func(c *Court) { c.Seats[0].Pubkey = arbiterKeys[0].pem + " " }, ErrMalformed},
		{"forged reveal", func(c *Court) { c.RevealSig = c.Seats[0].Sig }, ErrBadOutcomeSig},
		{"party in the pool", func(c *Court) { c.Pool = append(c.Pool, alice.id) }, ErrMalformed},
		{"too few seats", func(c *Court) { c.Seats = c.Seats[:2]; c.Verdict = VerdictDisputant }, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := verdictReceipt(t, vspec{votes: votes, mutate: tt.mutate})
			require.ErrorIs(t, Verify(&r), tt.want)
		})
	}
	t.Run("court on a completion", func(t *testing.T) {
		r := rspec{}.signed(t)
		r.Outcome.Court = &Court{}
		require.ErrorIs(t, Verify(&r), ErrMalformed)
	})
}

// §13.7 with both parties new (1200 vs 1200, K 16): the loser −8, the
// winner +4, mutual −8 each; arbiters +5 with the verdict, 0 against, −25
// for a forfeit, nothing for a decline.
func TestFoldVerdict(t *testing.T) {
	tests := []struct {
		name      string
		votes     []string
		disputant *party
		from, to  float64 // alice's and bob's changes
	}{
		{"disputant wins", []string{VerdictDisputant, VerdictDisputant, VerdictRespondent}, nil, -8, 4},
		{"respondent wins", []string{VerdictRespondent, "", VerdictRespondent}, nil, 4, -8},
		{"mutual", []string{VerdictMutual, VerdictDisputant, VerdictRespondent}, nil, -8, -8},
		{"proposer disputes and wins", []string{"declined", VerdictDisputant, VerdictDisputant, ""}, &alice, 4, -8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := verdictReceipt(t, vspec{votes: tt.votes, disputant: tt.disputant})
			require.NoError(t, Verify(&r))
			table := Fold([]Receipt{r})
			c, ok := table.Changes(r.ID())
			require.True(t, ok)
			require.Equal(t, tt.from, c.From.Change.Change)
			require.Equal(t, tt.to, c.To.Change.Change)
			seats := r.Outcome.Court.Seats
			rated := 0
			for _, s := range seats {
				want, listed := 0.0, true
				switch {
				case s.Status == SeatDeclined:
					listed = false
				case s.Status == SeatForfeited:
					want = -ArbiterStake
				case s.Verdict == r.Outcome.Court.Verdict:
					want = ArbiterReward
				}
				got, ok := c.For(s.Arbiter)
				require.Equal(t, listed, ok, "%s", s.Arbiter)
				if listed {
					rated++
					require.Equal(t, want, got.Change, "%s", s.Arbiter)
					require.Equal(t, 1200+want, table.Get(s.Arbiter).Rating)
					require.Equal(t, 1, table.Get(s.Arbiter).Transactions)
				}
			}
			require.Len(t, c.Arbiters, rated)
		})
	}
}
