package protocol_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/protocol"
)

const testPEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n"

func ptr[T any](v T) *T { return &v }

// decodeCases holds a valid frame of every client -> server type (§5) and
// the message it must decode to.
var decodeCases = []struct {
	name  string
	frame string
	want  protocol.Message
}{
	{"IDENTIFY ephemeral", `{"type":"IDENTIFY","name":"alice"}`, &protocol.Identify{Name: "alice"}},
	{"IDENTIFY null pubkey", `{"type":"IDENTIFY","name":"alice","pubkey":null}`, &protocol.Identify{Name: "alice"}},
	{"IDENTIFY pubkey kept as sent", `{"type":"IDENTIFY","name":"a_b-C9","pubkey":` + jsonString(testPEM) + `}`,
		&protocol.Identify{Name: "a_b-C9", Pubkey: testPEM}},
	{"IDENTIFY 32-char name", `{"type":"IDENTIFY","name":"` + strings.Repeat("n", 32) + `"}`, &protocol.Identify{Name: strings.Repeat("n", 32)}},
	{"VERIFY_IDENTITY", `{"type":"VERIFY_IDENTITY","challenge_id":"chal_m1x2y3z4_9f0c11ab","signature":"c2ln","timestamp":1700000000000}`,
		&protocol.VerifyIdentity{ChallengeID: "chal_m1x2y3z4_9f0c11ab", Signature: "c2ln", Timestamp: 1700000000000}},
	{"VERIFY_IDENTITY fractional timestamp", `{"type":"VERIFY_IDENTITY","challenge_id":"c","signature":"s","timestamp":1.5}`,
		&protocol.VerifyIdentity{ChallengeID: "c", Signature: "s", Timestamp: 1.5}},
	{"CAPTCHA_RESPONSE", `{"type":"CAPTCHA_RESPONSE","captcha_id":"captcha_x_00","answer":"42"}`,
		&protocol.CaptchaResponse{CaptchaID: "captcha_x_00", Answer: "42"}},
	{"PING", `{"type":"PING"}`, &protocol.Ping{}},
	{"PING with extra fields", `{"type":"PING","ts":1,"whatever":[1,2]}`, &protocol.Ping{}},
	{"LIST_CHANNELS", `{"type":"LIST_CHANNELS"}`, &protocol.ListChannels{}},
	{"JOIN", `{"type":"JOIN","channel":"#general"}`, &protocol.Join{Channel: "#general"}},
	{"JOIN 32-char channel", `{"type":"JOIN","channel":"#` + strings.Repeat("c", 31) + `"}`, &protocol.Join{Channel: "#" + strings.Repeat("c", 31)}},
	{"LEAVE", `{"type":"LEAVE","channel":"#a"}`, &protocol.Leave{Channel: "#a"}},
	{"LIST_AGENTS", `{"type":"LIST_AGENTS","channel":"#agents"}`, &protocol.ListAgents{Channel: "#agents"}},
	{"CREATE_CHANNEL", `{"type":"CREATE_CHANNEL","channel":"#proj"}`, &protocol.CreateChannel{Channel: "#proj"}},
	{"CREATE_CHANNEL flags", `{"type":"CREATE_CHANNEL","channel":"#p","invite_only":true,"verified_only":1}`,
		&protocol.CreateChannel{Channel: "#p", InviteOnly: true, VerifiedOnly: true}},
	{"INVITE", `{"type":"INVITE","channel":"#p","agent":"@0123456789abcdef"}`, &protocol.Invite{Channel: "#p", Agent: "@0123456789abcdef"}},
	{"MSG to channel", `{"type":"MSG","to":"#general","content":"hi"}`, &protocol.Msg{To: "#general", Content: "hi"}},
	{"MSG with sig, ts, in_reply_to", `{"type":"MSG","to":"@abcdefgh","content":"hi","sig":"c2ln","ts":1700000000000,"in_reply_to":"1-abcdef"}`,
		&protocol.Msg{To: "@abcdefgh", Content: "hi", Sig: "c2ln", TS: 1700000000000, InReplyTo: json.RawMessage(`"1-abcdef"`)}},
	{"MSG falsy in_reply_to dropped", `{"type":"MSG","to":"#g","content":"x","in_reply_to":""}`, &protocol.Msg{To: "#g", Content: "x"}},
	{"MSG content of 4096 units", `{"type":"MSG","to":"#g","content":"` + strings.Repeat("😀", 2048) + `"}`,
		&protocol.Msg{To: "#g", Content: strings.Repeat("😀", 2048)}},
	{"FILE_CHUNK", `{"type":"FILE_CHUNK","to":"@abcdefgh","content":"chunk"}`, &protocol.FileChunk{To: "@abcdefgh", Content: "chunk"}},
	{"TYPING", `{"type":"TYPING","channel":"#general"}`, &protocol.Typing{Channel: "#general"}},
	{"RESPONDING_TO", `{"type":"RESPONDING_TO","msg_id":"1-abcdef","channel":"#general","started_at":1700000000001}`,
		&protocol.RespondingTo{MsgID: "1-abcdef", Channel: "#general", StartedAt: 1700000000001}},
	{"SET_PRESENCE", `{"type":"SET_PRESENCE","status":"away","status_text":"brb"}`, &protocol.SetPresence{Status: "away", StatusText: ptr("brb")}},
	{"SET_PRESENCE empty status_text", `{"type":"SET_PRESENCE","status":"listening","status_text":""}`, &protocol.SetPresence{Status: "listening"}},
	{"SET_PRESENCE each state", `{"type":"SET_PRESENCE","status":"offline"}`, &protocol.SetPresence{Status: "offline"}},
	{"SET_NICK trimmed", `{"type":"SET_NICK","nick":"  neo  "}`, &protocol.SetNick{Nick: "neo"}},
	{"PROPOSAL minimal", `{"type":"PROPOSAL","to":"@b","task":"review","sig":"c2ln"}`, &protocol.Proposal{To: "@b", Task: "review", Sig: "c2ln"}},
	{"PROPOSAL full", `{"type":"PROPOSAL","to":"@b","task":"review","sig":"c2ln","amount":2.5,"currency":"TEST","payment_code":"pc",` +
		`"terms":"net 0","expires":300,"elo_stake":10,"capability":"code_review"}`,
		&protocol.Proposal{To: "@b", Task: "review", Sig: "c2ln", Amount: ptr(2.5), Currency: "TEST", PaymentCode: "pc",
			Terms: "net 0", Expires: ptr(300.0), EloStake: ptr(int64(10)), Capability: "code_review"}},
	{"PROPOSAL null stake", `{"type":"PROPOSAL","to":"@b","task":"t","sig":"s","elo_stake":null,"amount":null}`,
		&protocol.Proposal{To: "@b", Task: "t", Sig: "s"}},
	{"ACCEPT", `{"type":"ACCEPT","proposal_id":"prop_1","sig":"c2ln","payment_code":"pc","elo_stake":0}`,
		&protocol.Accept{ProposalID: "prop_1", Sig: "c2ln", PaymentCode: "pc", EloStake: ptr(int64(0))}},
	{"REJECT", `{"type":"REJECT","proposal_id":"prop_1","sig":"c2ln","reason":"busy"}`, &protocol.Reject{ProposalID: "prop_1", Sig: "c2ln", Reason: "busy"}},
	{"COMPLETE", `{"type":"COMPLETE","proposal_id":"prop_1","sig":"c2ln","proof":"https://x"}`, &protocol.Complete{ProposalID: "prop_1", Sig: "c2ln", Proof: "https://x"}},
	{"DISPUTE", `{"type":"DISPUTE","proposal_id":"prop_1","reason":"late","sig":"c2ln"}`, &protocol.Dispute{ProposalID: "prop_1", Reason: "late", Sig: "c2ln"}},
	{"REGISTER_SKILLS", `{"type":"REGISTER_SKILLS","skills":[{"capability":"code_review","rate":5}],"sig":"c2ln"}`,
		&protocol.RegisterSkills{Skills: json.RawMessage(`[{"capability":"code_review","rate":5}]`), Sig: "c2ln"}},
	{"SEARCH_SKILLS", `{"type":"SEARCH_SKILLS","query":{"capability":"code","max_rate":10,"currency":"TEST","limit":5},"query_id":"q1"}`,
		&protocol.SearchSkills{Query: protocol.SkillQuery{Capability: "code", MaxRate: ptr(10.0), Currency: "TEST", Limit: 5}, QueryID: json.RawMessage(`"q1"`)}},
	{"SEARCH_SKILLS empty query", `{"type":"SEARCH_SKILLS","query":{}}`, &protocol.SearchSkills{}},
	{"VERIFY_REQUEST", `{"type":"VERIFY_REQUEST","target":"@b","nonce":"0123456789abcdef"}`, &protocol.VerifyRequest{Target: "@b", Nonce: "0123456789abcdef"}},
	{"VERIFY_RESPONSE", `{"type":"VERIFY_RESPONSE","request_id":"verify_x_00000000","nonce":"n","sig":"c2ln"}`,
		&protocol.VerifyResponse{RequestID: "verify_x_00000000", Nonce: "n", Sig: "c2ln"}},
	{"DISPUTE_INTENT", `{"type":"DISPUTE_INTENT","proposal_id":"p","reason":"r","commitment":"abc","sig":"s"}`,
		&protocol.DisputeIntent{ProposalID: "p", Reason: "r", Commitment: "abc", Sig: "s"}},
	{"DISPUTE_REVEAL", `{"type":"DISPUTE_REVEAL","proposal_id":"p","nonce":"n","sig":"s"}`, &protocol.DisputeReveal{ProposalID: "p", Nonce: "n", Sig: "s"}},
	{"EVIDENCE", `{"type":"EVIDENCE","dispute_id":"d","items":[{"kind":"commit"}],"statement":"","sig":"s"}`,
		&protocol.Evidence{DisputeID: "d", Items: json.RawMessage(`[{"kind":"commit"}]`), Sig: "s"}},
	{"ARBITER_ACCEPT", `{"type":"ARBITER_ACCEPT","dispute_id":"d","sig":"s"}`, &protocol.ArbiterAccept{DisputeID: "d", Sig: "s"}},
	{"ARBITER_DECLINE", `{"type":"ARBITER_DECLINE","dispute_id":"d","reason":"conflict","sig":"s"}`,
		&protocol.ArbiterDecline{DisputeID: "d", Reason: "conflict", Sig: "s"}},
	{"ARBITER_DECLINE unsigned", `{"type":"ARBITER_DECLINE","dispute_id":"d"}`, &protocol.ArbiterDecline{DisputeID: "d"}},
	{"ARBITER_VOTE", `{"type":"ARBITER_VOTE","dispute_id":"d","verdict":"mutual","reasoning":"both","sig":"s"}`,
		&protocol.ArbiterVote{DisputeID: "d", Verdict: "mutual", Reasoning: "both", Sig: "s"}},
	{"ADMIN_APPROVE", `{"type":"ADMIN_APPROVE","pubkey":"pk","admin_key":"k","note":"n"}`, &protocol.AdminApprove{Pubkey: "pk", AdminKey: "k", Note: "n"}},
	{"ADMIN_REVOKE by pubkey", `{"type":"ADMIN_REVOKE","pubkey":"pk","admin_key":"k"}`, &protocol.AdminRevoke{Pubkey: "pk", AdminKey: "k"}},
	{"ADMIN_REVOKE by agent_id", `{"type":"ADMIN_REVOKE","agent_id":"0123456789abcdef","admin_key":"k"}`,
		&protocol.AdminRevoke{AgentID: "0123456789abcdef", AdminKey: "k"}},
	{"ADMIN_LIST", `{"type":"ADMIN_LIST","admin_key":"k"}`, &protocol.AdminList{AdminKey: "k"}},
	{"ADMIN_KICK", `{"type":"ADMIN_KICK","agent_id":"@abcdefgh","admin_key":"k","reason":"r"}`, &protocol.AdminKick{AgentID: "@abcdefgh", AdminKey: "k", Reason: "r"}},
	{"ADMIN_BAN", `{"type":"ADMIN_BAN","agent_id":"abcdefgh","admin_key":"k","reason":"r"}`, &protocol.AdminBan{AgentID: "abcdefgh", AdminKey: "k", Reason: "r"}},
	{"ADMIN_UNBAN", `{"type":"ADMIN_UNBAN","agent_id":"abcdefgh","admin_key":"k"}`, &protocol.AdminUnban{AgentID: "abcdefgh", AdminKey: "k"}},
	{"ADMIN_MOTD", `{"type":"ADMIN_MOTD","admin_key":"k","motd":"hello","kick":true}`, &protocol.AdminMotd{AdminKey: "k", Motd: ptr("hello"), Kick: true}},
	{"ADMIN_MOTD clear", `{"type":"ADMIN_MOTD","admin_key":"k","motd":null}`, &protocol.AdminMotd{AdminKey: "k"}},
	{"ADMIN_VERIFY", `{"type":"ADMIN_VERIFY","admin_key":"k","agent_id":"@abcdefgh","verified":false}`,
		&protocol.AdminVerify{AdminKey: "k", AgentID: "@abcdefgh", Verified: false}},
	{"duplicate key keeps the last", `{"type":"JOIN","channel":"#a","channel":"#b"}`, &protocol.Join{Channel: "#b"}},
	{"whitespace around", " \n{ \"type\" : \"JOIN\" , \"channel\" : \"#a\" }\t", &protocol.Join{Channel: "#a"}},
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestDecodeValid(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := protocol.Decode([]byte(tc.frame), protocol.Limits{})
			require.Nil(t, err, "Decode(%s)", tc.frame)
			require.Equal(t, tc.want, m)
			var head struct{ Type string }
			require.NoError(t, json.Unmarshal([]byte(tc.frame), &head))
			require.Equal(t, head.Type, m.Type())
		})
	}
}

// TestDecodeCoversEveryClientType fails when a client type has no valid
// frame in decodeCases.
func TestDecodeCoversEveryClientType(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range decodeCases {
		covered[tc.want.Type()] = true
	}
	for _, typ := range []string{
		protocol.TypeIdentify, protocol.TypeVerifyIdentity, protocol.TypeCaptchaResponse, protocol.TypePing,
		protocol.TypeListChannels, protocol.TypeJoin, protocol.TypeLeave, protocol.TypeListAgents,
		protocol.TypeCreateChannel, protocol.TypeInvite, protocol.TypeMsg, protocol.TypeFileChunk,
		protocol.TypeTyping, protocol.TypeRespondingTo, protocol.TypeSetPresence, protocol.TypeSetNick,
		protocol.TypeProposal, protocol.TypeAccept, protocol.TypeReject, protocol.TypeComplete,
		protocol.TypeDispute, protocol.TypeRegisterSkills, protocol.TypeSearchSkills, protocol.TypeVerifyRequest,
		protocol.TypeVerifyResponse, protocol.TypeDisputeIntent, protocol.TypeDisputeReveal, protocol.TypeEvidence,
		protocol.TypeArbiterAccept, protocol.TypeArbiterDecline, protocol.TypeArbiterVote, protocol.TypeAdminApprove,
		protocol.TypeAdminRevoke, protocol.TypeAdminList, protocol.TypeAdminKick, protocol.TypeAdminBan,
		protocol.TypeAdminUnban, protocol.TypeAdminMotd, protocol.TypeAdminVerify,
	} {
		require.True(t, covered[typ], "no valid %s frame in decodeCases", typ)
	}
}

// TestDecodeInvalid pins the texts of §5 and the INVALID_MSG code of every
// validation failure.
func TestDecodeInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, frame, msg string // msg "" = any non-empty text
		lim              protocol.Limits
	}{
		{name: "invalid JSON", frame: `{"type":`, msg: "Invalid JSON"},
		{name: "empty input", frame: ``, msg: "Invalid JSON"},
		{name: "array", frame: `[]`, msg: "Missing message type"},
		{name: "number", frame: `5`, msg: "Missing message type"},
		{name: "string", frame: `"x"`, msg: "Missing message type"},
		{name: "null", frame: `null`, msg: "Missing message type"},
		{name: "no type", frame: `{"name":"a"}`, msg: "Missing message type"},
		{name: "type null", frame: `{"type":null}`, msg: "Missing message type"},
		{name: "type false", frame: `{"type":false}`, msg: "Missing message type"},
		{name: "type 0", frame: `{"type":0}`, msg: "Missing message type"},
		{name: "unknown type", frame: `{"type":"FOO"}`, msg: "Unknown message type: FOO"},
		{name: "lower-case type", frame: `{"type":"ping"}`, msg: "Unknown message type: ping"},
		{name: "server-only type", frame: `{"type":"WELCOME"}`, msg: "Unknown message type: WELCOME"},
		{name: "name missing", frame: `{"type":"IDENTIFY"}`, msg: "Invalid agent name"},
		{name: "name 33 chars", frame: `{"type":"IDENTIFY","name":"` + strings.Repeat("n", 33) + `"}`, msg: "Invalid agent name"},
		{name: "name non-ASCII", frame: `{"type":"IDENTIFY","name":"é"}`, msg: "Invalid agent name"},
		{name: "pubkey empty", frame: `{"type":"IDENTIFY","name":"a","pubkey":""}`, msg: "Invalid public key format (must be Ed25519 PEM)"},
		{name: "pubkey number", frame: `{"type":"IDENTIFY","name":"a","pubkey":1}`, msg: "Invalid public key format (must be Ed25519 PEM)"},
		{name: "channel without #", frame: `{"type":"JOIN","channel":"general"}`, msg: "Invalid channel name"},
		{name: "channel 33 chars", frame: `{"type":"JOIN","channel":"#` + strings.Repeat("c", 32) + `"}`, msg: "Invalid channel name"},
		{name: "content 4097", frame: `{"type":"MSG","to":"#g","content":"` + strings.Repeat("x", 4097) + `"}`, msg: "Content too long (max 4096 chars)"},
		{name: "content 2049 astral", frame: `{"type":"MSG","to":"#g","content":"` + strings.Repeat("😀", 2049) + `"}`, msg: "Content too long (max 4096 chars)"},
		{name: "content over a custom limit", frame: `{"type":"MSG","to":"#g","content":"abcdef"}`, msg: "Content too long (max 5 chars)",
			lim: protocol.Limits{MaxContent: 5}},
		{name: "MSG sig null", frame: `{"type":"MSG","to":"#g","content":"x","sig":null}`},
		{name: "MSG to empty", frame: `{"type":"MSG","to":"","content":"x"}`},
		{name: "FILE_CHUNK to channel", frame: `{"type":"FILE_CHUNK","to":"#g","content":"x"}`, msg: "FILE_CHUNK only supports DM targets (@agent)"},
		{name: "timestamp 0", frame: `{"type":"VERIFY_IDENTITY","challenge_id":"c","signature":"s","timestamp":0}`},
		{name: "timestamp out of range", frame: `{"type":"VERIFY_IDENTITY","challenge_id":"c","signature":"s","timestamp":1e400}`},
		{name: "started_at missing", frame: `{"type":"RESPONDING_TO","msg_id":"m","channel":"#g"}`},
		{name: "elo_stake -1", frame: `{"type":"ACCEPT","proposal_id":"p","sig":"s","elo_stake":-1}`},
		{name: "elo_stake 1.5", frame: `{"type":"PROPOSAL","to":"@b","task":"t","sig":"s","elo_stake":1.5}`},
		{name: "elo_stake 1.5 says integer", frame: `{"type":"ACCEPT","proposal_id":"p","sig":"s","elo_stake":1.5}`,
			msg: "elo_stake must be a non-negative integer"},
		{name: "elo_stake 2^53", frame: `{"type":"PROPOSAL","to":"@b","task":"t","sig":"s","elo_stake":9007199254740992}`,
			msg: "elo_stake must be at most 9007199254740991"},
		// Issue 18.3: 1e18 is an integer; the answer names the limit, the
		// same for PROPOSAL and ACCEPT.
		{name: "PROPOSAL elo_stake 1e18", frame: `{"type":"PROPOSAL","to":"@b","task":"t","sig":"s","elo_stake":1e18}`,
			msg: "elo_stake must be at most 9007199254740991"},
		{name: "ACCEPT elo_stake 1e18", frame: `{"type":"ACCEPT","proposal_id":"p","sig":"s","elo_stake":1e18}`,
			msg: "elo_stake must be at most 9007199254740991"},
		{name: "ACCEPT elo_stake 1e400", frame: `{"type":"ACCEPT","proposal_id":"p","sig":"s","elo_stake":1e400}`,
			msg: "elo_stake must be at most 9007199254740991"},
		{name: "ACCEPT elo_stake -1e400", frame: `{"type":"ACCEPT","proposal_id":"p","sig":"s","elo_stake":-1e400}`,
			msg: "elo_stake must be a non-negative integer"},
		{name: "expires null", frame: `{"type":"PROPOSAL","to":"@b","task":"t","sig":"s","expires":null}`},
		{name: "empty task", frame: `{"type":"PROPOSAL","to":"@b","task":"","sig":"s"}`},
		{name: "skills empty", frame: `{"type":"REGISTER_SKILLS","skills":[],"sig":"s"}`},
		{name: "skill without capability", frame: `{"type":"REGISTER_SKILLS","skills":[{"rate":1}],"sig":"s"}`},
		{name: "query not an object", frame: `{"type":"SEARCH_SKILLS","query":"x"}`},
		{name: "verdict unknown", frame: `{"type":"ARBITER_VOTE","dispute_id":"d","verdict":"guilty","reasoning":"r","sig":"s"}`},
		{name: "evidence statement missing", frame: `{"type":"EVIDENCE","dispute_id":"d","items":[],"sig":"s"}`},
		{name: "revoke without target", frame: `{"type":"ADMIN_REVOKE","admin_key":"k"}`},
		{name: "verified not bool", frame: `{"type":"ADMIN_VERIFY","admin_key":"k","agent_id":"a","verified":1}`},
		{name: "nick 25 chars", frame: `{"type":"SET_NICK","nick":"` + strings.Repeat("n", 25) + `"}`},
		{name: "nick only spaces", frame: `{"type":"SET_NICK","nick":"   "}`},
		{name: "status_text 101", frame: `{"type":"SET_PRESENCE","status":"away","status_text":"` + strings.Repeat("s", 101) + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := protocol.Decode([]byte(tc.frame), tc.lim)
			require.Nil(t, m)
			require.NotNil(t, err)
			require.Equal(t, protocol.CodeInvalidMsg, err.Code)
			if tc.msg != "" {
				require.Equal(t, tc.msg, err.Message)
			}
			require.NotEmpty(t, err.Message)
		})
	}
}
