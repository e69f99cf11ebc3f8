package ledger

import (
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// An agentcourt verdict (PROTOCOL.md §13) settles its proposal into a
// receipt of kind KindVerdict. Its outcome is the disputant's signed
// DISPUTE_INTENT (by, reason, sig) and Court carries the rest of the case as
// signed: the commitment and the revealed nonce with the reveal signature,
// the server nonce, the arbiter pool, every seat in the order it was
// offered, and each vote with the arbiter's key and signature. Anyone can
// check offline that the seed opens the commitment, that the seats follow
// the seeded shuffle of the pool, that every vote is signed by its arbiter
// and that the verdict is the tally of the votes.

// KindVerdict is the outcome kind of an agentcourt verdict.
const KindVerdict = "verdict"

// The agentcourt constants of §13.1 the fold and the checks need.
const (
	// CourtPanelSize is the number of seats a panel starts with.
	CourtPanelSize = 3
	// ArbiterStake is what an arbiter who forfeits its seat loses.
	ArbiterStake = 25
	// ArbiterReward is what an arbiter who voted with the verdict gains.
	ArbiterReward = 5
	// courtK is the fixed K of verdict settlements (no amount weighting).
	courtK = 16
)

// Verdicts and seat statuses of a Court.
const (
	VerdictDisputant  = "disputant"
	VerdictRespondent = "respondent"
	VerdictMutual     = "mutual"
	SeatVoted         = "voted"
	SeatForfeited     = "forfeited"
	SeatDeclined      = "declined"
)

// Court is the case behind a verdict receipt.
type Court struct {
	DisputeID   string `json:"dispute_id"`
	Commitment  string `json:"commitment"`
	Nonce       string `json:"nonce"`
	RevealSig   string `json:"reveal_sig"`
	ServerNonce string `json:"server_nonce"`
	// Pool is the eligible arbiters in agent-ID order; the seats are the
	// first entries of its shuffle by the seed (protocol.SeededShuffle).
	Pool    []string `json:"pool"`
	Seats   []Seat   `json:"seats"`
	Verdict string   `json:"verdict"`
}

// Seat is one arbiter's seat as it ended: voted (with the signed vote),
// forfeited (accepted or was offered it and never answered or voted) or
// declined.
type Seat struct {
	Arbiter   string `json:"arbiter"` // "@id"
	Status    string `json:"status"`
	Pubkey    string `json:"pubkey"` // PEM, for a vote
	Verdict   string `json:"verdict"`
	Reasoning string `json:"reasoning"`
	Sig       string `json:"sig"` // over "VOTE|dispute_id|verdict"
}

// Seed is the panel seed of the case (§13.3).
func (c *Court) Seed(proposalID string) string {
	return protocol.DisputeSeed(proposalID, c.Nonce, c.ServerNonce)
}

// Tally returns the verdict of a set of votes (§13.7): two or more for one
// side win it; anything else, no votes included, is mutual.
func Tally(votes []string) string {
	n := map[string]int{}
	for _, v := range votes {
		n[v]++
	}
	switch {
	case n[VerdictDisputant] >= 2:
		return VerdictDisputant
	case n[VerdictRespondent] >= 2:
		return VerdictRespondent
	}
	return VerdictMutual
}

// votes lists the verdicts of the seats that voted.
func (c *Court) votes() []string {
	var out []string
	for _, s := range c.Seats {
		if s.Status == SeatVoted {
			out = append(out, s.Verdict)
		}
	}
	return out
}

func validVerdict(v string) bool {
	return v == VerdictDisputant || v == VerdictRespondent || v == VerdictMutual
}

// validateCourt checks the shape of a verdict receipt's case, everything
// that needs no key: the seats follow the seeded shuffle of a pool without
// the parties, the verdict is the tally.
func (r *Receipt) validateCourt() error {
	c, p := r.Outcome.Court, &r.Proposal
	switch {
	case c == nil:
		return fmt.Errorf("%w: a verdict needs its court", ErrMalformed)
	case r.Outcome.Proof != "":
		return fmt.Errorf("%w: a verdict has no proof", ErrMalformed)
	case !validProposalID(c.DisputeID):
		return fmt.Errorf("%w: court.dispute_id", ErrMalformed)
	case c.Commitment != protocol.Commitment(c.Nonce):
		return fmt.Errorf("%w: court.nonce does not open court.commitment", ErrMalformed)
	case c.RevealSig == "" || c.ServerNonce == "":
		return fmt.Errorf("%w: court.reveal_sig and court.server_nonce are required", ErrMalformed)
	case !validVerdict(c.Verdict):
		return fmt.Errorf("%w: court.verdict %q", ErrMalformed, c.Verdict)
	case len(c.Seats) < CourtPanelSize || len(c.Seats) > len(c.Pool):
		return fmt.Errorf("%w: %d seats from a pool of %d", ErrMalformed, len(c.Seats), len(c.Pool))
	case !allUTF8(c.DisputeID, c.Commitment, c.Nonce, c.RevealSig, c.ServerNonce):
		return fmt.Errorf("%w: a court field is not valid UTF-8", ErrMalformed)
	}
	for i, a := range c.Pool {
		if !validAtID(a) || a == p.From || a == p.To || slices.Contains(c.Pool[:i], a) {
			return fmt.Errorf("%w: court.pool[%d] %q", ErrMalformed, i, a)
		}
	}
	order := protocol.SeededShuffle(c.Pool, c.Seed(p.ProposalID))
	for i, s := range c.Seats {
		if s.Arbiter != order[i] {
			return fmt.Errorf("%w: seat %d is %s, the seeded shuffle gives %s", ErrMalformed, i, s.Arbiter, order[i])
		}
		if !allUTF8(s.Pubkey, s.Reasoning, s.Sig) {
			return fmt.Errorf("%w: seat %d is not valid UTF-8", ErrMalformed, i)
		}
		switch {
		case s.Status == SeatVoted && validVerdict(s.Verdict) && s.Sig != "" && agentID(s.Pubkey) == s.Arbiter:
		case (s.Status == SeatForfeited || s.Status == SeatDeclined) && s.Verdict == "" && s.Sig == "" && s.Pubkey == "" && s.Reasoning == "":
		default:
			return fmt.Errorf("%w: seat %d (%s)", ErrMalformed, i, s.Status)
		}
	}
	if Tally(c.votes()) != c.Verdict {
		return fmt.Errorf("%w: court.verdict %q is not the tally of the votes", ErrMalformed, c.Verdict)
	}
	return nil
}

// verifyCourt checks the signatures of a verdict's case: the reveal by the
// disputant (whose intent the outcome signature covers) and every vote by
// its arbiter.
func verifyCourt(r *Receipt, disputant ed25519.PublicKey) error {
	c := r.Outcome.Court
	if !identity.Verify(disputant, protocol.DisputeRevealSigningString(r.ID(), c.Nonce), c.RevealSig) {
		return fmt.Errorf("%w: reveal", ErrBadOutcomeSig)
	}
	for i, s := range c.Seats {
		if s.Status != SeatVoted {
			continue
		}
		key, err := partyKey(s.Pubkey, s.Arbiter, fmt.Sprintf("seat %d", i))
		if err != nil {
			return err
		}
		if !identity.Verify(key, protocol.ArbiterVoteSigningString(c.DisputeID, s.Verdict), s.Sig) {
			return fmt.Errorf("%w: vote of %s", ErrBadOutcomeSig, s.Arbiter)
		}
	}
	return nil
}

// appendCourtJSON writes the court member of a verdict's outcome in its
// canonical form: every member, in declaration order.
func appendCourtJSON(b []byte, c *Court) []byte {
	b = append(b, `,"court":{"dispute_id":`...)
	b = protocol.AppendJSString(b, c.DisputeID)
	b = append(b, `,"commitment":`...)
	b = protocol.AppendJSString(b, c.Commitment)
	b = append(b, `,"nonce":`...)
	b = protocol.AppendJSString(b, c.Nonce)
	b = append(b, `,"reveal_sig":`...)
	b = protocol.AppendJSString(b, c.RevealSig)
	b = append(b, `,"server_nonce":`...)
	b = protocol.AppendJSString(b, c.ServerNonce)
	b = append(b, `,"pool":[`...)
	for i, a := range c.Pool {
		if i > 0 {
			b = append(b, ',')
		}
		b = protocol.AppendJSString(b, a)
	}
	b = append(b, `],"seats":[`...)
	for i, s := range c.Seats {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"arbiter":`...)
		b = protocol.AppendJSString(b, s.Arbiter)
		b = append(b, `,"status":`...)
		b = protocol.AppendJSString(b, s.Status)
		b = append(b, `,"pubkey":`...)
		b = protocol.AppendJSString(b, s.Pubkey)
		b = append(b, `,"verdict":`...)
		b = protocol.AppendJSString(b, s.Verdict)
		b = append(b, `,"reasoning":`...)
		b = protocol.AppendJSString(b, s.Reasoning)
		b = append(b, `,"sig":`...)
		b = protocol.AppendJSString(b, s.Sig)
		b = append(b, '}')
	}
	b = append(b, `],"verdict":`...)
	b = protocol.AppendJSString(b, c.Verdict)
	return append(b, '}')
}
