package ledger

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// ReceiptVersion is the only receipt format version this package reads and
// writes. It is part of the JSON and of the countersigned bytes.
const ReceiptVersion = 1

// Outcome kinds.
const (
	KindComplete = "complete"
	KindDispute  = "dispute"
)

// maxProposalIDLen bounds proposal IDs; the original server's are 23 bytes.
const maxProposalIDLen = 128

// Receipt is the self-contained record of one settled proposal. Its ID is
// the proposal ID. The JSON form (MarshalJSON) is canonical: fixed field
// order, compact, every field present.
type Receipt struct {
	// Version is ReceiptVersion.
	Version int `json:"version"`
	// Proposal is the PROPOSAL as the proposer signed it.
	Proposal Proposal `json:"proposal"`
	// Accept is the ACCEPT as the recipient signed it.
	Accept Accept `json:"accept"`
	// Outcome is the COMPLETE or legacy DISPUTE as the settling party signed it.
	Outcome Outcome `json:"outcome"`
	// FromPubkey and ToPubkey are the parties' public keys as PEM text,
	// exactly as their agent IDs were derived from it (PROTOCOL.md §3.2).
	FromPubkey string `json:"from_pubkey"`
	ToPubkey   string `json:"to_pubkey"`
	// NodePubkey is the countersigning node's raw Ed25519 key in lowercase
	// hex (64 characters).
	NodePubkey string `json:"node_pubkey"`
	// NodeSig is the node's Ed25519 signature over SigningBytes, standard
	// padded base64.
	NodeSig string `json:"node_sig"`
}

// Proposal is a PROPOSAL as signed (PROTOCOL.md §7.1, §11.1). Empty strings
// and nil numbers mean the field was absent; the signing string cannot tell
// absent, null, 0 and "" apart, but the countersignature can.
type Proposal struct {
	ProposalID  string   `json:"proposal_id"`
	From        string   `json:"from"` // "@id" of the proposer
	To          string   `json:"to"`   // "@id" of the recipient, as signed
	Task        string   `json:"task"` // un-redacted, as signed
	Amount      *float64 `json:"amount"`
	Currency    string   `json:"currency"`
	PaymentCode string   `json:"payment_code"`
	Terms       string   `json:"terms"`
	// Expires is the relative number of seconds the proposer sent, which is
	// what the signature covers (not the absolute expiry).
	Expires   *float64 `json:"expires"`
	EloStake  *int64   `json:"elo_stake"`  // the proposer's stake
	CreatedAt int64    `json:"created_at"` // ms, node clock
	Sig       string   `json:"sig"`
}

// Accept is an ACCEPT as the recipient signed it.
type Accept struct {
	PaymentCode string `json:"payment_code"`
	EloStake    *int64 `json:"elo_stake"` // the acceptor's stake
	Sig         string `json:"sig"`
	AcceptedAt  int64  `json:"accepted_at"` // ms, node clock
}

// Outcome is the settling COMPLETE (Kind "complete", with Proof), legacy
// DISPUTE (Kind "dispute", with Reason) or agentcourt verdict (Kind
// "verdict": By, Reason and Sig are the disputant's DISPUTE_INTENT, Court
// the case), signed by the party named in By.
type Outcome struct {
	Kind      string `json:"kind"`
	By        string `json:"by"` // "@id" of the party that sent it
	Proof     string `json:"proof"`
	Reason    string `json:"reason"`
	Sig       string `json:"sig"`
	SettledAt int64  `json:"settled_at"` // ms, node clock; orders the fold
	// Court is the case of a verdict; nil for the other kinds.
	Court *Court `json:"court,omitempty"`
}

// ID returns the receipt's ID, its proposal ID.
func (r *Receipt) ID() string { return r.Proposal.ProposalID }

// SigningString returns the PROPOSAL string the proposer signs.
func (p *Proposal) SigningString() string {
	return protocol.ProposalSigningString(p.To, p.Task, p.Amount, p.Currency, p.PaymentCode, p.Expires, p.EloStake)
}

// SigningString returns the ACCEPT string the recipient signs for proposalID.
func (a *Accept) SigningString(proposalID string) string {
	return protocol.AcceptSigningString(proposalID, a.PaymentCode, a.EloStake)
}

// SigningString returns the COMPLETE or DISPUTE string the settling party
// signs for proposalID, or "" for an unknown kind.
func (o *Outcome) SigningString(proposalID string) string {
	switch o.Kind {
	case KindComplete:
		return protocol.CompleteSigningString(proposalID, o.Proof)
	case KindDispute:
		return protocol.DisputeSigningString(proposalID, o.Reason)
	case KindVerdict:
		if o.Court != nil {
			return protocol.DisputeIntentSigningString(proposalID, o.Reason, o.Court.Commitment)
		}
	}
	return ""
}

// ProposerStake returns the proposer's stake as the fold and escrow use it:
// the proposal's elo_stake, with absent or negative stakes as 0.
func (r *Receipt) ProposerStake() int64 { return stakeOf(r.Proposal.EloStake) }

// AcceptorStake returns the acceptor's stake: the accept's elo_stake, with
// absent or negative stakes as 0.
func (r *Receipt) AcceptorStake() int64 { return stakeOf(r.Accept.EloStake) }

func stakeOf(p *int64) int64 {
	if p == nil || *p < 0 {
		return 0
	}
	return *p
}

// Build assembles a receipt from the signed pieces and the parties' public
// keys, countersigns it with nodeKey and verifies the result, so a node can
// never countersign something that would not verify.
func Build(p Proposal, a Accept, o Outcome, fromPubkey, toPubkey string, nodeKey ed25519.PrivateKey) (Receipt, error) {
	r := Receipt{
		Version:    ReceiptVersion,
		Proposal:   p,
		Accept:     a,
		Outcome:    o,
		FromPubkey: fromPubkey,
		ToPubkey:   toPubkey,
	}
	if err := r.Countersign(nodeKey); err != nil {
		return Receipt{}, err
	}
	if err := Verify(&r); err != nil {
		return Receipt{}, fmt.Errorf("build: %w", err)
	}
	return r, nil
}

// Countersign sets NodePubkey to nodeKey's public key and NodeSig to its
// signature over SigningBytes. It does not verify the parties' signatures.
func (r *Receipt) Countersign(nodeKey ed25519.PrivateKey) error {
	if len(nodeKey) != ed25519.PrivateKeySize {
		return fmt.Errorf("countersign receipt %q: %w: node key has %d bytes", r.ID(), ErrMalformed, len(nodeKey))
	}
	r.NodePubkey = hex.EncodeToString(nodeKey.Public().(ed25519.PublicKey))
	if err := r.validate(); err != nil {
		return fmt.Errorf("countersign receipt %q: %w", r.ID(), err)
	}
	r.NodeSig = base64.StdEncoding.EncodeToString(ed25519.Sign(nodeKey, r.SigningBytes()))
	return nil
}

// validate checks the shape of r, everything that needs no key: the fields
// a receipt must have, their formats, and timestamp order. Errors wrap
// ErrMalformed, except that an outcome by a non-party wraps ErrNotParty.
// The node signature is checked for syntax only when present, so Countersign
// can validate before signing.
func (r *Receipt) validate() error {
	p, a, o := &r.Proposal, &r.Accept, &r.Outcome
	switch {
	case r.Version != ReceiptVersion:
		return fmt.Errorf("%w: unsupported receipt version %d", ErrMalformed, r.Version)
	case !validProposalID(p.ProposalID):
		return fmt.Errorf("%w: proposal_id must be 1-%d characters of [A-Za-z0-9_-]", ErrMalformed, maxProposalIDLen)
	case !validAtID(p.From):
		return fmt.Errorf("%w: proposal.from %q is not an @id", ErrMalformed, p.From)
	case !validAtID(p.To):
		return fmt.Errorf("%w: proposal.to %q is not an @id", ErrMalformed, p.To)
	case p.From == p.To:
		return fmt.Errorf("%w: proposal.from and proposal.to are the same agent", ErrMalformed)
	case p.Amount != nil && !finite(*p.Amount):
		return fmt.Errorf("%w: proposal.amount is not finite", ErrMalformed)
	case p.Expires != nil && !finite(*p.Expires):
		return fmt.Errorf("%w: proposal.expires is not finite", ErrMalformed)
	case p.Sig == "":
		return fmt.Errorf("%w: proposal.sig is missing", ErrMalformed)
	case a.Sig == "":
		return fmt.Errorf("%w: accept.sig is missing", ErrMalformed)
	case o.Sig == "":
		return fmt.Errorf("%w: outcome.sig is missing", ErrMalformed)
	case o.Kind != KindComplete && o.Kind != KindDispute && o.Kind != KindVerdict:
		return fmt.Errorf("%w: outcome.kind %q is not %q, %q or %q", ErrMalformed, o.Kind, KindComplete, KindDispute, KindVerdict)
	case o.Kind != KindVerdict && o.Court != nil:
		return fmt.Errorf("%w: only a verdict has a court", ErrMalformed)
	case o.Kind == KindComplete && o.Reason != "":
		return fmt.Errorf("%w: a completion has no reason", ErrMalformed)
	case o.Kind == KindDispute && o.Proof != "":
		return fmt.Errorf("%w: a dispute has no proof", ErrMalformed)
	case p.CreatedAt <= 0:
		return fmt.Errorf("%w: proposal.created_at is missing", ErrMalformed)
	case a.AcceptedAt < p.CreatedAt:
		return fmt.Errorf("%w: accept.accepted_at is before proposal.created_at", ErrMalformed)
	case o.SettledAt < a.AcceptedAt:
		return fmt.Errorf("%w: outcome.settled_at is before accept.accepted_at", ErrMalformed)
	case r.FromPubkey == "" || r.ToPubkey == "":
		return fmt.Errorf("%w: a party public key is missing", ErrMalformed)
	case !validNodeKey(r.NodePubkey):
		return fmt.Errorf("%w: node_pubkey must be 64 lowercase hex characters", ErrMalformed)
	case r.NodeSig != "" && !validNodeSig(r.NodeSig):
		return fmt.Errorf("%w: node_sig must be a padded base64 64-byte signature", ErrMalformed)
	case !allUTF8(p.ProposalID, p.Task, p.Currency, p.PaymentCode, p.Terms, p.Sig,
		a.PaymentCode, a.Sig, o.Proof, o.Reason, o.Sig, o.By, r.FromPubkey, r.ToPubkey):
		return fmt.Errorf("%w: a string field is not valid UTF-8", ErrMalformed)
	case o.By != p.From && o.By != p.To:
		return fmt.Errorf("%w: outcome.by %q", ErrNotParty, o.By)
	case o.Kind == KindVerdict:
		return r.validateCourt()
	}
	return nil
}

// validAtID reports whether s is "@" followed by a key-derived agent ID (16
// lowercase hex). Ephemeral agents cannot sign, so never appear in receipts.
func validAtID(s string) bool {
	if len(s) != 17 || s[0] != '@' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// validProposalID keeps proposal IDs safe as datastore key segments: no
// '/', no "." or "..", nothing a key cleaner would rewrite.
func validProposalID(s string) bool {
	if len(s) == 0 || len(s) > maxProposalIDLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validNodeKey(s string) bool {
	if len(s) != 2*ed25519.PublicKeySize {
		return false
	}
	for i := range len(s) {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// validNodeSig requires the one canonical encoding of a 64-byte signature:
// strict padded base64 (no stray bits in the last character), so a node
// signature has exactly one spelling.
func validNodeSig(s string) bool {
	_, ok := decodeNodeSig(s)
	return ok
}

func decodeNodeSig(s string) ([]byte, bool) {
	if len(s) != base64.StdEncoding.EncodedLen(ed25519.SignatureSize) {
		return nil, false
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, false
	}
	// Strict still skips CR and LF; only the canonical spelling passes.
	if base64.StdEncoding.EncodeToString(sig) != s {
		return nil, false
	}
	return sig, true
}

func isLowerHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func allUTF8(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// agentID returns "@" and the agent ID of a public key PEM.
func agentID(pem string) string { return "@" + identity.AgentID(pem) }
