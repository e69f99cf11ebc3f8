package protocol

import "encoding/json"

// Message is a decoded, validated client -> server frame. Its concrete type
// is one of the structs below; Type returns the wire "type".
type Message interface {
	Type() string
}

// Identify opens a session (§4.1). Pubkey is "" for an ephemeral agent;
// otherwise it is the PEM text exactly as sent (the agent ID hashes it).
type Identify struct {
	Name   string
	Pubkey string
}

// VerifyIdentity answers a CHALLENGE (§4.3).
type VerifyIdentity struct {
	ChallengeID string
	Signature   string
	Timestamp   float64
}

// CaptchaResponse answers a CAPTCHA_CHALLENGE (§4.8).
type CaptchaResponse struct {
	CaptchaID string
	Answer    string
}

// Ping asks for a PONG.
type Ping struct{}

// ListChannels asks for CHANNELS.
type ListChannels struct{}

// Join joins a channel (§8.2).
type Join struct{ Channel string }

// Leave leaves a channel (§8.3).
type Leave struct{ Channel string }

// ListAgents asks for the members of a channel (§8.5).
type ListAgents struct{ Channel string }

// CreateChannel creates a channel (§8.4).
type CreateChannel struct {
	Channel      string
	InviteOnly   bool
	VerifiedOnly bool
}

// Invite adds an agent to an invite-only channel's list (§8.4).
type Invite struct {
	Channel string
	Agent   string // "@id"
}

// Msg is a chat message to "#channel" or "@agent" (§9).
type Msg struct {
	To      string
	Content string
	// Sig is the author's signature over MsgSigningString(to, content, ts),
	// relayed untouched; "" when absent.
	Sig string
	// TS is the client's own timestamp, which a signature covers; 0 when
	// absent.
	TS float64
	// InReplyTo is passed through verbatim when truthy.
	InReplyTo json.RawMessage
}

// FileChunk carries one piece of a file transfer to an agent (§21).
type FileChunk struct {
	To      string // "@id"
	Content string
}

// Typing is a typing indicator (§9.6).
type Typing struct{ Channel string }

// RespondingTo claims the floor for a reply (§9.5).
type RespondingTo struct {
	MsgID     string
	Channel   string
	StartedAt float64
}

// SetPresence changes presence (§10.1). StatusText nil means null.
type SetPresence struct {
	Status     string
	StatusText *string
}

// SetNick changes the display name (§10.2).
type SetNick struct{ Nick string }

// Proposal offers work to another agent (§11). Optional fields are nil or ""
// when absent; the signature covers them as sent (§7.1).
type Proposal struct {
	To          string
	Task        string
	Sig         string
	Amount      *float64
	Currency    string
	PaymentCode string
	Terms       string
	Expires     *float64 // relative seconds, as sent
	EloStake    *int64
	Capability  string
}

// Accept accepts a proposal (§11).
type Accept struct {
	ProposalID  string
	Sig         string
	PaymentCode string
	EloStake    *int64
}

// Reject rejects a proposal (§11).
type Reject struct {
	ProposalID string
	Sig        string
	Reason     string
}

// Complete marks a proposal done (§11).
type Complete struct {
	ProposalID string
	Sig        string
	Proof      string
}

// Dispute disputes a proposal unilaterally (§11, legacy dispute).
type Dispute struct {
	ProposalID string
	Reason     string
	Sig        string
}

// RegisterSkills replaces the sender's skill registration (§14).
type RegisterSkills struct {
	// Skills is the array as received; JSR of it is what the signature
	// covers.
	Skills json.RawMessage
	Sig    string
}

// SearchSkills searches the skills registry (§14).
type SearchSkills struct {
	Query   SkillQuery
	QueryID json.RawMessage // echoed back; null when absent
}

// SkillQuery is the query object of SEARCH_SKILLS.
type SkillQuery struct {
	Capability string   `json:"capability,omitempty"`
	MaxRate    *float64 `json:"max_rate,omitempty"`
	Currency   string   `json:"currency,omitempty"`
	Limit      int      `json:"limit,omitempty"`
}

// VerifyRequest asks another agent to prove its key (§15).
type VerifyRequest struct {
	Target string // "@id"
	Nonce  string
}

// VerifyResponse is the target's proof (§15).
type VerifyResponse struct {
	RequestID string
	Nonce     string
	Sig       string
}

// DisputeIntent files an agentcourt dispute (§13.2).
type DisputeIntent struct {
	ProposalID string
	Reason     string
	Commitment string
	Sig        string
}

// DisputeReveal reveals the committed nonce (§13.3).
type DisputeReveal struct {
	ProposalID string
	Nonce      string
	Sig        string
}

// Evidence submits a party's evidence (§13.7).
type Evidence struct {
	DisputeID string
	Items     json.RawMessage
	Statement string
	Sig       string
}

// ArbiterAccept accepts a panel seat (§13.6).
type ArbiterAccept struct {
	DisputeID string
	Sig       string
}

// ArbiterDecline declines a panel seat (§13.6); Sig is optional.
type ArbiterDecline struct {
	DisputeID string
	Reason    string
	Sig       string
}

// ArbiterVote is an arbiter's vote (§13.6).
type ArbiterVote struct {
	DisputeID string
	Verdict   string
	Reasoning string
	Sig       string
}

// AdminApprove adds a public key to the allowlist (§16.1).
type AdminApprove struct {
	Pubkey   string
	AdminKey string
	Note     string
}

// AdminRevoke removes an allowlist entry by pubkey or agent ID (§16.1).
type AdminRevoke struct {
	Pubkey   string
	AgentID  string
	AdminKey string
}

// AdminList lists the allowlist (§16.1).
type AdminList struct{ AdminKey string }

// AdminKick disconnects an agent (§16.2).
type AdminKick struct {
	AgentID  string
	AdminKey string
	Reason   string
}

// AdminBan bans an agent ID (§16.2).
type AdminBan struct {
	AgentID  string
	AdminKey string
	Reason   string
}

// AdminUnban lifts a ban (§16.2).
type AdminUnban struct {
	AgentID  string
	AdminKey string
}

// AdminMotd sets the message of the day (§16.3). Motd nil clears it.
type AdminMotd struct {
	AdminKey string
	Motd     *string
	Kick     bool
}

// AdminVerify sets an online agent's verified flag (§16.3).
type AdminVerify struct {
	AdminKey string
	AgentID  string
	Verified bool
}

func (*Identify) Type() string        { return TypeIdentify }
func (*VerifyIdentity) Type() string  { return TypeVerifyIdentity }
func (*CaptchaResponse) Type() string { return TypeCaptchaResponse }
func (*Ping) Type() string            { return TypePing }
func (*ListChannels) Type() string    { return TypeListChannels }
func (*Join) Type() string            { return TypeJoin }
func (*Leave) Type() string           { return TypeLeave }
func (*ListAgents) Type() string      { return TypeListAgents }
func (*CreateChannel) Type() string   { return TypeCreateChannel }
func (*Invite) Type() string          { return TypeInvite }
func (*Msg) Type() string             { return TypeMsg }
func (*FileChunk) Type() string       { return TypeFileChunk }
func (*Typing) Type() string          { return TypeTyping }
func (*RespondingTo) Type() string    { return TypeRespondingTo }
func (*SetPresence) Type() string     { return TypeSetPresence }
func (*SetNick) Type() string         { return TypeSetNick }
func (*Proposal) Type() string        { return TypeProposal }
func (*Accept) Type() string          { return TypeAccept }
func (*Reject) Type() string          { return TypeReject }
func (*Complete) Type() string        { return TypeComplete }
func (*Dispute) Type() string         { return TypeDispute }
func (*RegisterSkills) Type() string  { return TypeRegisterSkills }
func (*SearchSkills) Type() string    { return TypeSearchSkills }
func (*VerifyRequest) Type() string   { return TypeVerifyRequest }
func (*VerifyResponse) Type() string  { return TypeVerifyResponse }
func (*DisputeIntent) Type() string   { return TypeDisputeIntent }
func (*DisputeReveal) Type() string   { return TypeDisputeReveal }
func (*Evidence) Type() string        { return TypeEvidence }
func (*ArbiterAccept) Type() string   { return TypeArbiterAccept }
func (*ArbiterDecline) Type() string  { return TypeArbiterDecline }
func (*ArbiterVote) Type() string     { return TypeArbiterVote }
func (*AdminApprove) Type() string    { return TypeAdminApprove }
func (*AdminRevoke) Type() string     { return TypeAdminRevoke }
func (*AdminList) Type() string       { return TypeAdminList }
func (*AdminKick) Type() string       { return TypeAdminKick }
func (*AdminBan) Type() string        { return TypeAdminBan }
func (*AdminUnban) Type() string      { return TypeAdminUnban }
func (*AdminMotd) Type() string       { return TypeAdminMotd }
func (*AdminVerify) Type() string     { return TypeAdminVerify }
