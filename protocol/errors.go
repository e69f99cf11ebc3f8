package protocol

import "fmt"

// Code is the code of an ERROR frame (PROTOCOL.md §17). Clients match these
// strings, so they never change.
type Code string

// The error codes of §17, the whole set the original server and its clients
// know.
const (
	CodeInvalidMsg                Code = "INVALID_MSG"
	CodeAuthRequired              Code = "AUTH_REQUIRED"
	CodeChannelNotFound           Code = "CHANNEL_NOT_FOUND"
	CodeNotInvited                Code = "NOT_INVITED"
	CodeChannelExists             Code = "CHANNEL_EXISTS"
	CodeInvalidName               Code = "INVALID_NAME"
	CodeRateLimited               Code = "RATE_LIMITED"
	CodeLurkMode                  Code = "LURK_MODE"
	CodeAgentNotFound             Code = "AGENT_NOT_FOUND"
	CodeSignatureRequired         Code = "SIGNATURE_REQUIRED"
	CodeVerificationFailed        Code = "VERIFICATION_FAILED"
	CodeVerificationExpired       Code = "VERIFICATION_EXPIRED"
	CodeNoPubkey                  Code = "NO_PUBKEY"
	CodeNotAllowed                Code = "NOT_ALLOWED"
	CodeBanned                    Code = "BANNED"
	CodeProposalNotFound          Code = "PROPOSAL_NOT_FOUND"
	CodeProposalExpired           Code = "PROPOSAL_EXPIRED"
	CodeInvalidProposal           Code = "INVALID_PROPOSAL"
	CodeInsufficientReputation    Code = "INSUFFICIENT_REPUTATION"
	CodeInvalidStake              Code = "INVALID_STAKE"
	CodeNotProposalParty          Code = "NOT_PROPOSAL_PARTY"
	CodeDisputeNotFound           Code = "DISPUTE_NOT_FOUND"
	CodeDisputeNotParty           Code = "DISPUTE_NOT_PARTY"
	CodeDisputeNotArbiter         Code = "DISPUTE_NOT_ARBITER"
	CodeDisputeAlreadyExists      Code = "DISPUTE_ALREADY_EXISTS"
	CodeDisputeCommitmentMismatch Code = "DISPUTE_COMMITMENT_MISMATCH"
	CodeDisputeDeadlinePassed     Code = "DISPUTE_DEADLINE_PASSED"
	CodeDisputeInvalidPhase       Code = "DISPUTE_INVALID_PHASE"
	CodeInsufficientArbiters      Code = "INSUFFICIENT_ARBITERS"
	CodeCaptchaFailed             Code = "CAPTCHA_FAILED"
	CodeCaptchaExpired            Code = "CAPTCHA_EXPIRED"
	CodeDMAgeGate                 Code = "DM_AGE_GATE"
	CodeServerDecommissioned      Code = "SERVER_DECOMMISSIONED"
)

// Error is a failure an agent is told about in an ERROR frame. It never
// closes the connection by itself (§17); closes use the Close codes.
type Error struct {
	Code    Code
	Message string
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Frame returns the ERROR frame that reports e, stamped with ts.
func (e *Error) Frame(ts int64) *ErrorFrame {
	return &ErrorFrame{Type: TypeError, TS: ts, Code: e.Code, Message: e.Message}
}

// Websocket close codes the node uses (§18, plus CloseSlowConsumer, which the
// original never needed because it buffered without bound).
const (
	// CloseNormal ends a session on purpose: challenge expired, displaced by
	// a takeover, kicked or banned.
	CloseNormal = 1000
	// CloseGoingAway is sent to every agent when the node shuts down, and on
	// the MOTD maintenance kick.
	CloseGoingAway = 1001
	// CloseProtocolError is sent for a websocket framing violation
	// (RFC 6455 §7.4.1): unmasked or malformed frames, bad close codes.
	CloseProtocolError = 1002
	// CloseInvalidPayload is sent for a text frame that is not UTF-8.
	CloseInvalidPayload = 1007
	// ClosePolicy is the pre-auth flood and per-IP connection limit close.
	ClosePolicy = 1008
	// CloseTooBig is sent for a frame over the size limit.
	CloseTooBig = 1009
	// CloseSlowConsumer is sent to an agent that does not read its frames
	// fast enough: its send queue filled up. Registered meaning: "try again
	// later".
	CloseSlowConsumer = 1013
)
