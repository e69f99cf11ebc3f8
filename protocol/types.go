package protocol

// Frame type names (the "type" field). Wire names are append-only: a retired
// name is never reused.
const (
	// Client -> server (§5).
	TypeIdentify        = "IDENTIFY"
	TypeVerifyIdentity  = "VERIFY_IDENTITY"
	TypeCaptchaResponse = "CAPTCHA_RESPONSE"
	TypePing            = "PING"
	TypeListChannels    = "LIST_CHANNELS"
	TypeJoin            = "JOIN"
	TypeLeave           = "LEAVE"
	TypeListAgents      = "LIST_AGENTS"
	TypeCreateChannel   = "CREATE_CHANNEL"
	TypeInvite          = "INVITE"
	TypeMsg             = "MSG"
	TypeFileChunk       = "FILE_CHUNK"
	TypeTyping          = "TYPING"
	TypeRespondingTo    = "RESPONDING_TO"
	TypeSetPresence     = "SET_PRESENCE"
	TypeSetNick         = "SET_NICK"
	TypeProposal        = "PROPOSAL"
	TypeAccept          = "ACCEPT"
	TypeReject          = "REJECT"
	TypeComplete        = "COMPLETE"
	TypeDispute         = "DISPUTE"
	TypeRegisterSkills  = "REGISTER_SKILLS"
	TypeSearchSkills    = "SEARCH_SKILLS"
	TypeVerifyRequest   = "VERIFY_REQUEST"
	TypeVerifyResponse  = "VERIFY_RESPONSE"
	TypeDisputeIntent   = "DISPUTE_INTENT"
	TypeDisputeReveal   = "DISPUTE_REVEAL"
	TypeEvidence        = "EVIDENCE"
	TypeArbiterAccept   = "ARBITER_ACCEPT"
	TypeArbiterDecline  = "ARBITER_DECLINE"
	TypeArbiterVote     = "ARBITER_VOTE"
	TypeAdminApprove    = "ADMIN_APPROVE"
	TypeAdminRevoke     = "ADMIN_REVOKE"
	TypeAdminList       = "ADMIN_LIST"
	TypeAdminKick       = "ADMIN_KICK"
	TypeAdminBan        = "ADMIN_BAN"
	TypeAdminUnban      = "ADMIN_UNBAN"
	TypeAdminMotd       = "ADMIN_MOTD"
	TypeAdminVerify     = "ADMIN_VERIFY"

	// Server -> client only (§6). MSG, PROPOSAL, ACCEPT, REJECT, COMPLETE,
	// DISPUTE, TYPING, FILE_CHUNK and VERIFY_REQUEST travel both ways.
	TypeWelcome            = "WELCOME"
	TypeChallenge          = "CHALLENGE"
	TypeCaptchaChallenge   = "CAPTCHA_CHALLENGE"
	TypeError              = "ERROR"
	TypePong               = "PONG"
	TypeJoined             = "JOINED"
	TypeLeft               = "LEFT"
	TypeAgentJoined        = "AGENT_JOINED"
	TypeAgentLeft          = "AGENT_LEFT"
	TypeChannels           = "CHANNELS"
	TypeAgents             = "AGENTS"
	TypeNickChanged        = "NICK_CHANGED"
	TypePresenceChanged    = "PRESENCE_CHANGED"
	TypeFloorClaimed       = "FLOOR_CLAIMED"
	TypeYield              = "YIELD"
	TypeSessionDisplaced   = "SESSION_DISPLACED"
	TypeKicked             = "KICKED"
	TypeBanned             = "BANNED"
	TypeMotdUpdate         = "MOTD_UPDATE"
	TypeAdminResult        = "ADMIN_RESULT"
	TypeSkillsRegistered   = "SKILLS_REGISTERED"
	TypeSearchResults      = "SEARCH_RESULTS"
	TypeVerifySuccess      = "VERIFY_SUCCESS"
	TypeVerifyFailed       = "VERIFY_FAILED"
	TypeDisputeIntentAck   = "DISPUTE_INTENT_ACK"
	TypeDisputeRevealed    = "DISPUTE_REVEALED"
	TypeDisputeFallback    = "DISPUTE_FALLBACK"
	TypePanelFormed        = "PANEL_FORMED"
	TypeArbiterAssigned    = "ARBITER_ASSIGNED"
	TypeEvidenceReceived   = "EVIDENCE_RECEIVED"
	TypeCaseReady          = "CASE_READY"
	TypeVerdict            = "VERDICT"
	TypeSettlementComplete = "SETTLEMENT_COMPLETE"
)

// Presence states (§10.1).
const (
	PresenceOnline    = "online"
	PresenceAway      = "away"
	PresenceBusy      = "busy"
	PresenceOffline   = "offline"
	PresenceListening = "listening"
)

// Proposal states (§11.1).
const (
	StatusPending   = "pending"
	StatusAccepted  = "accepted"
	StatusRejected  = "rejected"
	StatusCompleted = "completed"
	StatusDisputed  = "disputed"
	StatusExpired   = "expired"
)

// Limits the validator applies. The zero value means the defaults of
// DESIGN.md (content 4096 UTF-16 units).
type Limits struct {
	// MaxContent caps MSG content in UTF-16 code units (what JavaScript's
	// String.length counts). Zero means DefaultMaxContent.
	MaxContent int
	// MaxChunk caps FILE_CHUNK content in UTF-16 code units. Zero means
	// DefaultMaxFrame.
	MaxChunk int
}

// Defaults of DESIGN.md "Compatibility decisions".
const (
	DefaultMaxContent = 4096
	DefaultMaxFrame   = 2 << 20 // 2 MiB, also the FILE_CHUNK content cap
	StatusTextMax     = 100
	NickMax           = 24
)
