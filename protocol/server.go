package protocol

import "encoding/json"

// Server -> client frames (§6). Every frame starts with type and ts (server
// ms); field order follows the original server, though clients do not rely
// on it. Pointer fields without omitempty are the ones the original sends as
// an explicit null.

// Welcome ends a successful IDENTIFY (§4.6).
type Welcome struct {
	Type       string `json:"type"`
	TS         int64  `json:"ts"`
	AgentID    string `json:"agent_id"`
	Name       string `json:"name"`
	Server     string `json:"server"`
	Verified   *bool  `json:"verified,omitempty"`
	Motd       string `json:"motd,omitempty"`
	Disclaimer string `json:"disclaimer"`
}

// Challenge asks a pubkey agent to prove its key (§4.2).
type Challenge struct {
	Type        string `json:"type"`
	TS          int64  `json:"ts"`
	ChallengeID string `json:"challenge_id"`
	Nonce       string `json:"nonce"`
	ExpiresAt   int64  `json:"expires_at"`
}

// CaptchaChallenge is the optional captcha gate's question (§4.8).
type CaptchaChallenge struct {
	Type      string `json:"type"`
	TS        int64  `json:"ts"`
	CaptchaID string `json:"captcha_id"`
	Question  string `json:"question"`
	Hint      string `json:"hint,omitempty"`
	ExpiresAt int64  `json:"expires_at"`
}

// ErrorFrame reports an *Error (§17).
type ErrorFrame struct {
	Type    string `json:"type"`
	TS      int64  `json:"ts"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Pong answers PING.
type Pong struct {
	Type string `json:"type"`
	TS   int64  `json:"ts"`
}

// MsgFrame is a delivered chat message, a server notice, an invite notice or
// a callback fire (§6, §9).
type MsgFrame struct {
	Type      string          `json:"type"`
	TS        int64           `json:"ts"`
	From      string          `json:"from"`
	FromName  string          `json:"from_name"`
	To        string          `json:"to"`
	Content   string          `json:"content"`
	MsgID     string          `json:"msg_id,omitempty"`
	Verified  *bool           `json:"verified,omitempty"`
	Sig       string          `json:"sig,omitempty"`
	InReplyTo json.RawMessage `json:"in_reply_to,omitempty"`
	// SigTS is the author's own ts, which Sig covers (MsgSigningString); the
	// original dropped it, so receivers could not re-verify. Sent only with
	// a signature.
	SigTS    *float64 `json:"sig_ts,omitempty"`
	CbID     string   `json:"cb_id,omitempty"`
	CbOrigin string   `json:"cb_origin,omitempty"`
	Replay   bool     `json:"replay,omitempty"`
}

// FileChunkFrame relays a file chunk to its target (§21).
type FileChunkFrame struct {
	Type    string `json:"type"`
	TS      int64  `json:"ts"`
	From    string `json:"from"`
	To      string `json:"to"`
	Content string `json:"content"`
}

// Member is one entry of JOINED.agents.
type Member struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Verified bool   `json:"verified"`
}

// Joined confirms a JOIN (Agents holds []Member) or a CREATE_CHANNEL
// (Agents holds []string, the creator's "@id"), as the original does.
type Joined struct {
	Type    string `json:"type"`
	TS      int64  `json:"ts"`
	Channel string `json:"channel"`
	Agents  any    `json:"agents"`
	// Total, an extension, is the member count when Agents lists only
	// some of them (a channel over the node's presence limit).
	Total int `json:"total,omitempty"`
}

// Left confirms a LEAVE.
type Left struct {
	Type    string `json:"type"`
	TS      int64  `json:"ts"`
	Channel string `json:"channel"`
}

// AgentJoined tells members someone joined.
type AgentJoined struct {
	Type     string `json:"type"`
	TS       int64  `json:"ts"`
	Channel  string `json:"channel"`
	Agent    string `json:"agent"`
	Name     string `json:"name"`
	Verified bool   `json:"verified"`
}

// AgentLeft tells members someone left; Name is absent on disconnect.
type AgentLeft struct {
	Type    string `json:"type"`
	TS      int64  `json:"ts"`
	Channel string `json:"channel"`
	Agent   string `json:"agent"`
	Name    string `json:"name,omitempty"`
}

// ChannelInfo is one entry of CHANNELS.list.
type ChannelInfo struct {
	Name         string `json:"name"`
	Agents       int    `json:"agents"`
	VerifiedOnly bool   `json:"verifiedOnly,omitempty"`
}

// Channels answers LIST_CHANNELS.
type Channels struct {
	Type string        `json:"type"`
	TS   int64         `json:"ts"`
	List []ChannelInfo `json:"list"`
}

// AgentInfo is one entry of AGENTS.list.
type AgentInfo struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Presence   string  `json:"presence"`
	StatusText *string `json:"status_text"`
	Verified   bool    `json:"verified"`
}

// Agents answers LIST_AGENTS.
type Agents struct {
	Type    string      `json:"type"`
	TS      int64       `json:"ts"`
	Channel string      `json:"channel"`
	List    []AgentInfo `json:"list"`
}

// NickChanged announces a nick change (§10.2).
type NickChanged struct {
	Type    string `json:"type"`
	TS      int64  `json:"ts"`
	AgentID string `json:"agent_id"`
	OldNick string `json:"old_nick"`
	NewNick string `json:"new_nick"`
}

// PresenceChanged announces a presence change (§10.1).
type PresenceChanged struct {
	Type       string  `json:"type"`
	TS         int64   `json:"ts"`
	AgentID    string  `json:"agent_id"`
	Name       string  `json:"name"`
	Presence   string  `json:"presence"`
	StatusText *string `json:"status_text"`
}

// TypingFrame relays a typing indicator (§9.6).
type TypingFrame struct {
	Type     string `json:"type"`
	TS       int64  `json:"ts"`
	From     string `json:"from"`
	FromName string `json:"from_name"`
	Channel  string `json:"channel"`
}

// FloorClaimed tells members an agent is replying to a message (§9.5).
type FloorClaimed struct {
	Type       string  `json:"type"`
	TS         int64   `json:"ts"`
	MsgID      string  `json:"msg_id"`
	Channel    string  `json:"channel"`
	Holder     string  `json:"holder"`
	HolderName string  `json:"holder_name"`
	StartedAt  float64 `json:"started_at"`
}

// Yield tells an agent it lost or did not get the floor (§9.5).
type Yield struct {
	Type            string  `json:"type"`
	TS              int64   `json:"ts"`
	MsgID           string  `json:"msg_id"`
	Channel         string  `json:"channel"`
	Holder          string  `json:"holder"`
	HolderStartedAt float64 `json:"holder_started_at"`
	Reason          string  `json:"reason"`
}

// SessionDisplaced tells the old connection a verified takeover happened
// (§4.4). Clients match the substring "Another connection" in Reason.
type SessionDisplaced struct {
	Type   string `json:"type"`
	TS     int64  `json:"ts"`
	Reason string `json:"reason"`
	NewIP  string `json:"new_ip"`
}

// Kicked precedes the close of a kicked agent.
type Kicked struct {
	Type   string `json:"type"`
	TS     int64  `json:"ts"`
	Reason string `json:"reason"`
}

// Banned precedes the close of a banned agent.
type Banned struct {
	Type   string `json:"type"`
	TS     int64  `json:"ts"`
	Reason string `json:"reason"`
}

// MotdUpdate announces a new message of the day to every socket.
type MotdUpdate struct {
	Type string  `json:"type"`
	TS   int64   `json:"ts"`
	Motd *string `json:"motd"`
}

// AdminResult answers an admin operation (§16). Fields is the per-action
// payload, merged after type and ts.
type AdminResult struct {
	TS     int64
	Fields []KV
}

// KV is one ordered field of a frame whose shape varies.
type KV struct {
	Key   string
	Value any
}

// MarshalJSON writes type, ts, then the fields in order.
func (a *AdminResult) MarshalJSON() ([]byte, error) {
	return marshalOrdered(TypeAdminResult, a.TS, a.Fields)
}

// SkillsRegistered confirms REGISTER_SKILLS (§14).
type SkillsRegistered struct {
	Type         string `json:"type"`
	TS           int64  `json:"ts"`
	AgentID      string `json:"agent_id"`
	SkillsCount  int    `json:"skills_count"`
	RegisteredAt int64  `json:"registered_at"`
}

// SearchResults answers SEARCH_SKILLS (§14).
type SearchResults struct {
	Type    string            `json:"type"`
	TS      int64             `json:"ts"`
	QueryID json.RawMessage   `json:"query_id"`
	Query   json.RawMessage   `json:"query"`
	Results []json.RawMessage `json:"results"`
	Total   int               `json:"total"`
}

// VerifyRequestFrame goes to the target of a VERIFY_REQUEST (From, Nonce
// set) and, as an acknowledgement, to the requester (Target, Status set).
type VerifyRequestFrame struct {
	Type      string `json:"type"`
	TS        int64  `json:"ts"`
	RequestID string `json:"request_id"`
	From      string `json:"from,omitempty"`
	Nonce     string `json:"nonce,omitempty"`
	Target    string `json:"target,omitempty"`
	Status    string `json:"status,omitempty"`
}

// VerifyResult is VERIFY_SUCCESS or VERIFY_FAILED (§15): to the requester
// with Agent/Target, Pubkey or Reason; to the responder with Verified.
type VerifyResult struct {
	Type      string `json:"type"`
	TS        int64  `json:"ts"`
	RequestID string `json:"request_id"`
	Agent     string `json:"agent,omitempty"`
	Target    string `json:"target,omitempty"`
	Pubkey    string `json:"pubkey,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Verified  *bool  `json:"verified,omitempty"`
}
