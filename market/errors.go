package market

import "github.com/agentchat/mesh/protocol"

// Errors agents see. The INVALID_PROPOSAL messages are the original
// store's reason codes, which clients match (PROTOCOL.md §11.2).
var (
	errBadSig       = protocol.Errorf(protocol.CodeVerificationFailed, "Invalid signature")
	errUnverified   = protocol.Errorf(protocol.CodeAuthRequired, "The marketplace requires a verified identity")
	errNotFound     = protocol.Errorf(protocol.CodeInvalidProposal, "PROPOSAL_NOT_FOUND")
	errNotPending   = protocol.Errorf(protocol.CodeInvalidProposal, "PROPOSAL_NOT_PENDING")
	errNotRecipient = protocol.Errorf(protocol.CodeInvalidProposal, "NOT_PROPOSAL_RECIPIENT")
	errNotAccepted  = protocol.Errorf(protocol.CodeInvalidProposal, "PROPOSAL_NOT_ACCEPTED")
	errNotParty     = protocol.Errorf(protocol.CodeInvalidProposal, "NOT_PROPOSAL_PARTY")
	// errSelfDeal refuses a proposal whose two parties are one agent (one
	// ID, one key under two IDs, or two keys of one rotation chain): it
	// could never settle into a receipt that rates anyone.
	errSelfDeal    = protocol.Errorf(protocol.CodeInvalidProposal, "SELF_PROPOSAL")
	errUnavailable = protocol.Errorf(protocol.CodeInvalidMsg, "Marketplace operation not supported on this node")
	errStore       = protocol.Errorf(protocol.CodeInvalidMsg, "Settlement could not be stored; try again")
	errUnreachable = protocol.Errorf(protocol.CodeInvalidMsg, "The node holding this proposal cannot be reached; try again")
)
