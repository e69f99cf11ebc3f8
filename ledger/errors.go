package ledger

import "errors"

var (
	// ErrMalformed means a receipt, checkpoint or bundle does not have the required shape.
	ErrMalformed = errors.New("malformed")
	// ErrKeyMismatch means a party's public key does not hash to the agent ID the receipt names.
	ErrKeyMismatch = errors.New("public key does not match agent ID")
	// ErrNotParty means an outcome is attributed to an agent that is neither the proposer nor the recipient.
	ErrNotParty = errors.New("not a party to the proposal")
	// ErrBadProposalSig means the proposal signature does not verify with the proposer's key.
	ErrBadProposalSig = errors.New("invalid proposal signature")
	// ErrBadAcceptSig means the acceptance signature does not verify with the recipient's key.
	ErrBadAcceptSig = errors.New("invalid accept signature")
	// ErrBadOutcomeSig means the completion or dispute signature does not verify with the key of the party named in by.
	ErrBadOutcomeSig = errors.New("invalid outcome signature")
	// ErrBadCountersig means the node's countersignature does not verify.
	ErrBadCountersig = errors.New("invalid node countersignature")
	// ErrConflict means a different receipt with the same proposal ID is already stored or present.
	ErrConflict = errors.New("conflicting receipt for proposal")
	// ErrNotFound means no receipt (or escrow) is stored under the given proposal ID.
	ErrNotFound = errors.New("not found")
	// ErrInsufficient means an agent's available rating cannot cover a stake.
	ErrInsufficient = errors.New("insufficient reputation")
	// ErrEscrowExists means an escrow already exists for the proposal.
	ErrEscrowExists = errors.New("escrow already exists")
	// ErrEscrowNotActive means the escrow was already settled or released.
	ErrEscrowNotActive = errors.New("escrow is not active")
	// ErrBadCheckpoint means a checkpoint's signature does not verify or its fields are inconsistent.
	ErrBadCheckpoint = errors.New("invalid checkpoint")
	// ErrBadProof means an inclusion proof does not prove the receipt is in the checkpointed log.
	ErrBadProof = errors.New("invalid inclusion proof")
	// ErrNoProof means no inclusion proof is known for a receipt.
	ErrNoProof = errors.New("no inclusion proof")
	// ErrNoNodeKey means the store has no node key, so it keeps no log and cannot sign checkpoints.
	ErrNoNodeKey = errors.New("no node key configured")
	// ErrBadBundle means a bundle contained at least one receipt or checkpoint that failed verification.
	ErrBadBundle = errors.New("bundle has bad entries")
	// ErrBadIdentity means a rotation or revocation record is malformed or its signature does not verify.
	ErrBadIdentity = errors.New("invalid identity record")
)
