package protocol

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Patterns of §5. Lengths are checked on bytes, which equal characters for
// these ASCII-only patterns.
var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	chanPattern = regexp.MustCompile(`^#[A-Za-z0-9_-]{1,31}$`)
	nickPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// ValidName reports whether s is a valid agent name.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// ValidChannel reports whether s is a valid channel name ("#" included).
func ValidChannel(s string) bool { return chanPattern.MatchString(s) }

type decoder func(fields, Limits) (Message, *Error)

var decoders map[string]decoder

func init() {
	decoders = map[string]decoder{
		TypeIdentify:        decodeIdentify,
		TypeVerifyIdentity:  decodeVerifyIdentity,
		TypeCaptchaResponse: decodeCaptchaResponse,
		TypePing:            func(fields, Limits) (Message, *Error) { return &Ping{}, nil },
		TypeListChannels:    func(fields, Limits) (Message, *Error) { return &ListChannels{}, nil },
		TypeJoin:            chanMsg(func(c string) Message { return &Join{Channel: c} }),
		TypeLeave:           chanMsg(func(c string) Message { return &Leave{Channel: c} }),
		TypeListAgents:      chanMsg(func(c string) Message { return &ListAgents{Channel: c} }),
		TypeTyping:          chanMsg(func(c string) Message { return &Typing{Channel: c} }),
		TypeCreateChannel:   decodeCreateChannel,
		TypeInvite:          decodeInvite,
		TypeMsg:             decodeMsg,
		TypeFileChunk:       decodeFileChunk,
		TypeRespondingTo:    decodeRespondingTo,
		TypeSetPresence:     decodeSetPresence,
		TypeSetNick:         decodeSetNick,
		TypeProposal:        decodeProposal,
		TypeAccept:          decodeAccept,
		TypeReject:          decodeReject,
		TypeComplete:        decodeComplete,
		TypeDispute:         decodeDispute,
		TypeRegisterSkills:  decodeRegisterSkills,
		TypeSearchSkills:    decodeSearchSkills,
		TypeVerifyRequest:   decodeVerifyRequest,
		TypeVerifyResponse:  decodeVerifyResponse,
		TypeDisputeIntent:   decodeDisputeIntent,
		TypeDisputeReveal:   decodeDisputeReveal,
		TypeEvidence:        decodeEvidence,
		TypeArbiterAccept:   decodeArbiterAccept,
		TypeArbiterDecline:  decodeArbiterDecline,
		TypeArbiterVote:     decodeArbiterVote,
		TypeAdminApprove:    decodeAdminApprove,
		TypeAdminRevoke:     decodeAdminRevoke,
		TypeAdminList:       decodeAdminList,
		TypeAdminKick:       decodeAdminKick,
		TypeAdminBan:        decodeAdminBan,
		TypeAdminUnban:      decodeAdminUnban,
		TypeAdminMotd:       decodeAdminMotd,
		TypeAdminVerify:     decodeAdminVerify,
	}
}

func invalid(text string) *Error { return &Error{Code: CodeInvalidMsg, Message: text} }

// chanMsg decodes the frames whose only field is a channel.
func chanMsg(build func(string) Message) decoder {
	return func(f fields, _ Limits) (Message, *Error) {
		c, ok := f.str("channel")
		if !ok || !ValidChannel(c) {
			return nil, invalid(TextInvalidChannel)
		}
		return build(c), nil
	}
}

func decodeIdentify(f fields, _ Limits) (Message, *Error) {
	name, ok := f.str("name")
	if !ok || !ValidName(name) {
		return nil, invalid(TextInvalidName)
	}
	pub, err := f.optStr("pubkey", TextInvalidPubkey)
	if err != nil {
		return nil, err
	}
	if f.kind("pubkey") == kindString && pub == "" {
		return nil, invalid(TextInvalidPubkey)
	}
	return &Identify{Name: name, Pubkey: pub}, nil
}

func decodeVerifyIdentity(f fields, _ Limits) (Message, *Error) {
	var m VerifyIdentity
	var err *Error
	if m.ChallengeID, err = f.reqStr("challenge_id", "Missing or invalid challenge_id"); err != nil {
		return nil, err
	}
	if m.Signature, err = f.reqStr("signature", "Missing or invalid signature"); err != nil {
		return nil, err
	}
	ts, ok := f.num("timestamp")
	if !ok || ts == 0 {
		return nil, invalid("Missing or invalid timestamp")
	}
	m.Timestamp = ts
	return &m, nil
}

func decodeCaptchaResponse(f fields, _ Limits) (Message, *Error) {
	var m CaptchaResponse
	var err *Error
	if m.CaptchaID, err = f.reqStr("captcha_id", "Missing or invalid captcha_id"); err != nil {
		return nil, err
	}
	if m.Answer, err = f.reqStr("answer", "Missing or invalid answer"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeCreateChannel(f fields, _ Limits) (Message, *Error) {
	c, ok := f.str("channel")
	if !ok || !ValidChannel(c) {
		return nil, invalid(TextInvalidChannel)
	}
	return &CreateChannel{Channel: c, InviteOnly: f.truthy("invite_only"), VerifiedOnly: f.truthy("verified_only")}, nil
}

func decodeInvite(f fields, _ Limits) (Message, *Error) {
	c, ok := f.str("channel")
	if !ok || !ValidChannel(c) {
		return nil, invalid(TextInvalidChannel)
	}
	a, ok := f.str("agent")
	if !ok || !strings.HasPrefix(a, "@") {
		return nil, invalid("Invalid agent target")
	}
	return &Invite{Channel: c, Agent: a}, nil
}

func decodeMsg(f fields, lim Limits) (Message, *Error) {
	to, ok := f.str("to")
	if !ok || to == "" {
		return nil, invalid("Missing target")
	}
	if to[0] != '#' && to[0] != '@' {
		return nil, invalid("Invalid target (must start with # or @)")
	}
	content, ok := f.str("content")
	if !ok {
		return nil, invalid("Missing or invalid content")
	}
	max := lim.MaxContent
	if max <= 0 {
		max = DefaultMaxContent
	}
	if overLimit(content, max) {
		return nil, Errorf(CodeInvalidMsg, "Content too long (max %d chars)", max)
	}
	m := &Msg{To: to, Content: content}
	if _, present := f["sig"]; present { // null is not a string either
		if m.Sig, ok = f.str("sig"); !ok {
			return nil, invalid("Invalid signature format")
		}
	}
	if ts, ok := f.num("ts"); ok {
		m.TS = ts
	}
	if f.truthy("in_reply_to") {
		m.InReplyTo = f["in_reply_to"]
	}
	return m, nil
}

func decodeFileChunk(f fields, lim Limits) (Message, *Error) {
	to, ok := f.str("to")
	if !ok || !strings.HasPrefix(to, "@") {
		return nil, invalid("FILE_CHUNK only supports DM targets (@agent)")
	}
	content, ok := f.str("content")
	if !ok {
		return nil, invalid("Missing or invalid content")
	}
	max := lim.MaxChunk
	if max <= 0 {
		max = DefaultMaxFrame
	}
	if overLimit(content, max) {
		return nil, Errorf(CodeInvalidMsg, "Content too long (max %d chars)", max)
	}
	return &FileChunk{To: to, Content: content}, nil
}

func decodeRespondingTo(f fields, _ Limits) (Message, *Error) {
	var m RespondingTo
	var err *Error
	if m.MsgID, err = f.reqStr("msg_id", "Missing or invalid msg_id"); err != nil {
		return nil, err
	}
	c, ok := f.str("channel")
	if !ok || !ValidChannel(c) {
		return nil, invalid(TextInvalidChannel)
	}
	m.Channel = c
	at, ok := f.num("started_at")
	if !ok || at == 0 {
		return nil, invalid("Missing or invalid started_at")
	}
	m.StartedAt = at
	return &m, nil
}

var presenceStates = []string{PresenceOnline, PresenceAway, PresenceBusy, PresenceOffline, PresenceListening}

func decodeSetPresence(f fields, _ Limits) (Message, *Error) {
	status, _ := f.str("status")
	valid := false
	for _, s := range presenceStates {
		valid = valid || s == status
	}
	if !valid {
		return nil, invalid("Invalid presence status. Must be one of: " + strings.Join(presenceStates, ", "))
	}
	m := &SetPresence{Status: status}
	switch f.kind("status_text") {
	case kindAbsent:
	case kindString:
		text, _ := f.str("status_text")
		if overLimit(text, StatusTextMax) {
			return nil, Errorf(CodeInvalidMsg, "status_text too long (max %d chars)", StatusTextMax)
		}
		if text != "" {
			m.StatusText = &text
		}
	default:
		return nil, invalid("status_text must be a string")
	}
	return m, nil
}

func decodeSetNick(f fields, _ Limits) (Message, *Error) {
	nick, err := f.reqStr("nick", "Missing or invalid nick")
	if err != nil {
		return nil, err
	}
	nick = strings.TrimSpace(nick)
	if nick == "" || UTF16Len(nick) > NickMax {
		return nil, Errorf(CodeInvalidMsg, "Nick must be 1-%d characters", NickMax)
	}
	if !nickPattern.MatchString(nick) {
		return nil, invalid("Nick must contain only alphanumeric characters, hyphens, and underscores")
	}
	return &SetNick{Nick: nick}, nil
}

func decodeProposal(f fields, _ Limits) (Message, *Error) {
	var m Proposal
	to, ok := f.str("to")
	if !ok || to == "" {
		return nil, invalid("Missing target (to)")
	}
	if !strings.HasPrefix(to, "@") {
		return nil, invalid("Proposals must be sent to an agent (@id)")
	}
	m.To = to
	var err *Error
	if m.Task, err = f.reqStr("task", "Missing or invalid task description"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Proposals must be signed"); err != nil {
		return nil, err
	}
	if _, present := f["expires"]; present { // null is rejected too
		v, ok := f.num("expires")
		if !ok {
			return nil, invalid("expires must be a number (seconds)")
		}
		m.Expires = &v
	}
	if m.EloStake, err = f.stake(); err != nil {
		return nil, err
	}
	if m.Amount, err = f.optNum("amount", "amount must be a number"); err != nil {
		return nil, err
	}
	if m.Currency, err = f.optStr("currency", "currency must be a string"); err != nil {
		return nil, err
	}
	if m.PaymentCode, err = f.optStr("payment_code", "payment_code must be a string"); err != nil {
		return nil, err
	}
	if m.Terms, err = f.optStr("terms", "terms must be a string"); err != nil {
		return nil, err
	}
	if m.Capability, err = f.optStr("capability", "capability must be a string"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeAccept(f fields, _ Limits) (Message, *Error) {
	var m Accept
	var err *Error
	if m.ProposalID, err = f.reqStr("proposal_id", "Missing proposal_id"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Accept must be signed"); err != nil {
		return nil, err
	}
	if m.EloStake, err = f.stake(); err != nil {
		return nil, err
	}
	if m.PaymentCode, err = f.optStr("payment_code", "payment_code must be a string"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeReject(f fields, _ Limits) (Message, *Error) {
	var m Reject
	var err *Error
	if m.ProposalID, err = f.reqStr("proposal_id", "Missing proposal_id"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Reject must be signed"); err != nil {
		return nil, err
	}
	if m.Reason, err = f.optStr("reason", "reason must be a string"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeComplete(f fields, _ Limits) (Message, *Error) {
	var m Complete
	var err *Error
	if m.ProposalID, err = f.reqStr("proposal_id", "Missing proposal_id"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Complete must be signed"); err != nil {
		return nil, err
	}
	if m.Proof, err = f.optStr("proof", "proof must be a string"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeDispute(f fields, _ Limits) (Message, *Error) {
	var m Dispute
	var err *Error
	if m.ProposalID, err = f.reqStr("proposal_id", "Missing proposal_id"); err != nil {
		return nil, err
	}
	if m.Reason, err = f.reqStr("reason", "Missing or invalid dispute reason"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Dispute must be signed"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeRegisterSkills(f fields, _ Limits) (Message, *Error) {
	if f.kind("skills") != kindArray {
		return nil, invalid("Missing or invalid skills array")
	}
	var skills []map[string]json.RawMessage
	if json.Unmarshal(f["skills"], &skills) != nil {
		return nil, invalid("Each skill must have a capability string")
	}
	if len(skills) == 0 {
		return nil, invalid("Skills array cannot be empty")
	}
	for _, s := range skills {
		if c, ok := fields(s).str("capability"); !ok || c == "" {
			return nil, invalid("Each skill must have a capability string")
		}
	}
	sig, err := f.reqStr("sig", "Skill registration must be signed")
	if err != nil {
		return nil, err
	}
	return &RegisterSkills{Skills: f["skills"], Sig: sig}, nil
}

func decodeSearchSkills(f fields, _ Limits) (Message, *Error) {
	const text = "Missing or invalid query object"
	if f.kind("query") != kindObject {
		return nil, invalid(text)
	}
	q := fields{}
	if json.Unmarshal(f["query"], &q) != nil {
		return nil, invalid(text)
	}
	var m SearchSkills
	var err *Error
	if m.Query.Capability, err = q.optStr("capability", text); err != nil {
		return nil, err
	}
	if m.Query.Currency, err = q.optStr("currency", text); err != nil {
		return nil, err
	}
	if m.Query.MaxRate, err = q.optNum("max_rate", text); err != nil {
		return nil, err
	}
	limit, err := q.optNum("limit", text)
	if err != nil {
		return nil, err
	}
	if limit != nil && *limit > 0 {
		m.Query.Limit = int(min(*limit, 1e6))
	}
	m.QueryID = f["query_id"]
	return &m, nil
}

func decodeVerifyRequest(f fields, _ Limits) (Message, *Error) {
	target, ok := f.str("target")
	if !ok || target == "" {
		return nil, invalid("Missing target agent")
	}
	if !strings.HasPrefix(target, "@") {
		return nil, invalid("Target must be an agent (@id)")
	}
	nonce, err := f.reqStr("nonce", "Missing or invalid nonce")
	if err != nil {
		return nil, err
	}
	if n := UTF16Len(nonce); n < 16 || n > 128 {
		return nil, invalid("Nonce must be 16-128 characters")
	}
	return &VerifyRequest{Target: target, Nonce: nonce}, nil
}

func decodeVerifyResponse(f fields, _ Limits) (Message, *Error) {
	var m VerifyResponse
	var err *Error
	if m.RequestID, err = f.reqStr("request_id", "Missing request_id"); err != nil {
		return nil, err
	}
	if m.Nonce, err = f.reqStr("nonce", "Missing or invalid nonce"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Missing or invalid signature"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeDisputeIntent(f fields, _ Limits) (Message, *Error) {
	var m DisputeIntent
	var err *Error
	if m.ProposalID, err = f.reqStr("proposal_id", "Missing proposal_id"); err != nil {
		return nil, err
	}
	if m.Reason, err = f.reqStr("reason", "Missing or invalid reason"); err != nil {
		return nil, err
	}
	if m.Commitment, err = f.reqStr("commitment", "Missing or invalid commitment hash"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Dispute intent must be signed"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeDisputeReveal(f fields, _ Limits) (Message, *Error) {
	var m DisputeReveal
	var err *Error
	if m.ProposalID, err = f.reqStr("proposal_id", "Missing proposal_id"); err != nil {
		return nil, err
	}
	if m.Nonce, err = f.reqStr("nonce", "Missing or invalid nonce"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Dispute reveal must be signed"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeEvidence(f fields, _ Limits) (Message, *Error) {
	var m Evidence
	var err *Error
	if m.DisputeID, err = f.reqStr("dispute_id", "Missing or invalid dispute_id"); err != nil {
		return nil, err
	}
	if f.kind("items") != kindArray {
		return nil, invalid("Missing or invalid items array")
	}
	m.Items = f["items"]
	var ok bool
	if m.Statement, ok = f.str("statement"); !ok {
		return nil, invalid("Missing or invalid statement")
	}
	if m.Sig, err = f.reqStr("sig", "Evidence must be signed"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeArbiterAccept(f fields, _ Limits) (Message, *Error) {
	var m ArbiterAccept
	var err *Error
	if m.DisputeID, err = f.reqStr("dispute_id", "Missing or invalid dispute_id"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.reqStr("sig", "Arbiter accept must be signed"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeArbiterDecline(f fields, _ Limits) (Message, *Error) {
	var m ArbiterDecline
	var err *Error
	if m.DisputeID, err = f.reqStr("dispute_id", "Missing or invalid dispute_id"); err != nil {
		return nil, err
	}
	if m.Reason, err = f.optStr("reason", "reason must be a string"); err != nil {
		return nil, err
	}
	if m.Sig, err = f.optStr("sig", "Invalid signature format"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeArbiterVote(f fields, _ Limits) (Message, *Error) {
	var m ArbiterVote
	var err *Error
	if m.DisputeID, err = f.reqStr("dispute_id", "Missing or invalid dispute_id"); err != nil {
		return nil, err
	}
	m.Verdict, _ = f.str("verdict")
	if m.Verdict != "disputant" && m.Verdict != "respondent" && m.Verdict != "mutual" {
		return nil, invalid("Invalid verdict (must be disputant, respondent, or mutual)")
	}
	var ok bool
	if m.Reasoning, ok = f.str("reasoning"); !ok {
		return nil, invalid("Missing or invalid reasoning")
	}
	if m.Sig, err = f.reqStr("sig", "Arbiter vote must be signed"); err != nil {
		return nil, err
	}
	return &m, nil
}

func adminKey(f fields) (string, *Error) { return f.reqStr("admin_key", "Missing admin_key") }

func decodeAdminApprove(f fields, _ Limits) (Message, *Error) {
	var m AdminApprove
	var err *Error
	if m.Pubkey, err = f.reqStr("pubkey", "Missing or invalid pubkey"); err != nil {
		return nil, err
	}
	if m.AdminKey, err = adminKey(f); err != nil {
		return nil, err
	}
	if m.Note, err = f.optStr("note", "note must be a string"); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeAdminRevoke(f fields, _ Limits) (Message, *Error) {
	var m AdminRevoke
	m.Pubkey, _ = f.str("pubkey")
	m.AgentID, _ = f.str("agent_id")
	if m.Pubkey == "" && m.AgentID == "" {
		return nil, invalid("Missing pubkey or agent_id")
	}
	var err *Error
	if m.AdminKey, err = adminKey(f); err != nil {
		return nil, err
	}
	return &m, nil
}

func decodeAdminList(f fields, _ Limits) (Message, *Error) {
	k, err := adminKey(f)
	if err != nil {
		return nil, err
	}
	return &AdminList{AdminKey: k}, nil
}

// agentTarget decodes the agent_id of the moderation frames.
func agentTarget(f fields) (id, key string, err *Error) {
	if id, err = f.reqStr("agent_id", "Missing agent_id"); err != nil {
		return "", "", err
	}
	if key, err = adminKey(f); err != nil {
		return "", "", err
	}
	return id, key, nil
}

// moderation decodes the agent_id, admin_key and reason of KICK and BAN.
func moderation(f fields) (id, key, reason string, err *Error) {
	if id, key, err = agentTarget(f); err != nil {
		return "", "", "", err
	}
	reason, err = f.optStr("reason", "reason must be a string")
	return id, key, reason, err
}

func decodeAdminKick(f fields, _ Limits) (Message, *Error) {
	id, key, reason, err := moderation(f)
	if err != nil {
		return nil, err
	}
	return &AdminKick{AgentID: id, AdminKey: key, Reason: reason}, nil
}

func decodeAdminBan(f fields, _ Limits) (Message, *Error) {
	id, key, reason, err := moderation(f)
	if err != nil {
		return nil, err
	}
	return &AdminBan{AgentID: id, AdminKey: key, Reason: reason}, nil
}

func decodeAdminUnban(f fields, _ Limits) (Message, *Error) {
	id, key, err := agentTarget(f)
	if err != nil {
		return nil, err
	}
	return &AdminUnban{AgentID: id, AdminKey: key}, nil
}

func decodeAdminMotd(f fields, _ Limits) (Message, *Error) {
	key, err := adminKey(f)
	if err != nil {
		return nil, err
	}
	m := &AdminMotd{AdminKey: key, Kick: f.truthy("kick")}
	switch f.kind("motd") {
	case kindAbsent:
	case kindString:
		s, _ := f.str("motd")
		if s != "" {
			m.Motd = &s
		}
	default:
		return nil, invalid("motd must be a string or null")
	}
	return m, nil
}

func decodeAdminVerify(f fields, _ Limits) (Message, *Error) {
	key, err := adminKey(f)
	if err != nil {
		return nil, err
	}
	id, err := f.reqStr("agent_id", "Missing agent_id")
	if err != nil {
		return nil, err
	}
	if f.kind("verified") != kindBool {
		return nil, invalid("verified must be a boolean")
	}
	return &AdminVerify{AdminKey: key, AgentID: id, Verified: f.truthy("verified")}, nil
}
