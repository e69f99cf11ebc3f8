package protocol

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// vectorKey is the §26 test key: the Ed25519 key whose seed is 00 01 … 1f.
func vectorKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	key := ed25519.NewKeyFromSeed(seed)
	require.Equal(t,
		"03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
		hex.EncodeToString(key.Public().(ed25519.PublicKey)))
	return key
}

func ptr[T any](v T) *T { return &v }

// TestVectorSignatures checks the §26 signing strings byte for byte and
// that signing them with the §26 key reproduces the published signatures.
func TestVectorSignatures(t *testing.T) {
	skillsJSR, err := JSR([]byte(`[{"capability":"code_review","rate":5,"currency":"TEST"}]`))
	require.NoError(t, err)
	require.Equal(t, `[{"capability":"code_review","rate":5,"currency":"TEST"}]`, string(skillsJSR))

	tests := []struct {
		name string
		got  string
		want string
		sig  string
	}{
		{
			name: "auth",
			got:  AuthSigningString("00112233445566778899aabbccddeeff", "chal_lq2x0abc_deadbeef", 1700000000000),
			want: "AGENTCHAT_AUTH|00112233445566778899aabbccddeeff|chal_lq2x0abc_deadbeef|1700000000000",
			sig:  "YOSNQf6auOh+8UXkffEXYF61BxOR4qEWax1sLhZRWYiSpWXnhWty8zkIEL7/keYebMU1+OaMBH3GgGAKGYSgBg==",
		},
		{
			name: "proposal",
			got:  ProposalSigningString("@0123456789abcdef", "Review PR #42", ptr(1.5), "SOL", "", ptr(300.0), nil),
			want: "@0123456789abcdef|Review PR #42|1.5|SOL||300|",
			sig:  "DPMNkvZcdPu3TAr5gRqaQz0ix9VRdX15vdtXMA7rYP7SyDMvlObzR/4hcB8t71MsZyoYtLv3xdBqWMNWV4HoCg==",
		},
		{
			name: "accept",
			got:  AcceptSigningString("prop_lq2x0abc_0badf00d", "", ptr[int64](25)),
			want: "ACCEPT|prop_lq2x0abc_0badf00d||25",
			sig:  "pApRdcicZ2YPhlEPhXOOB1/1cUGQ/7cHoU3mjn2g+1fV/QyAVk+UPt1718rSqF+nEo38uBjUs8jLE+cbhkh4DA==",
		},
		{
			name: "register_skills",
			got:  RegisterSkillsSigningString(skillsJSR),
			want: "REGISTER_SKILLS|5d466af512b6708b046ed912802f3a752a069c20e9eacac4717cef1e1d824277",
			sig:  "kZBWU7WolKTWfuaaqaHnxBjcnA7gsrZhbCWjpg3R4JCd2GnNNL845Sxk9U4U5HCnLcofJoyr8fjtKvCEuVOmDw==",
		},
	}
	key := vectorKey(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.got)
			sig := ed25519.Sign(key, []byte(tt.got))
			require.Equal(t, tt.sig, base64.StdEncoding.EncodeToString(sig))
			raw, err := base64.StdEncoding.DecodeString(tt.sig)
			require.NoError(t, err)
			require.True(t, ed25519.Verify(key.Public().(ed25519.PublicKey), []byte(tt.want), raw))
		})
	}
}

func TestVectorDispute(t *testing.T) {
	const (
		nonce       = "00112233445566778899aabbccddeeff"
		proposalID  = "prop_lq2x0abc_0badf00d"
		serverNonce = "ffeeddccbbaa99887766554433221100"
		seed        = "aacb680aae9788847d008d54e12809819ce0624de9a5e4f1011a361b7b3c244c"
	)
	t.Run("commitment", func(t *testing.T) {
		require.Equal(t, "5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720", Commitment(nonce))
	})
	t.Run("seed", func(t *testing.T) {
		require.Equal(t, seed, DisputeSeed(proposalID, nonce, serverNonce))
	})
	t.Run("shuffle", func(t *testing.T) {
		pool := []string{"@a1", "@a2", "@a3", "@a4", "@a5"}
		got := SeededShuffle(pool, seed)
		require.Equal(t, []string{"@a2", "@a3", "@a4", "@a5", "@a1"}, got)
		require.Equal(t, []string{"@a2", "@a3", "@a4"}, got[:3])
		require.Equal(t, []string{"@a1", "@a2", "@a3", "@a4", "@a5"}, pool, "input modified")
	})
	t.Run("evidence", func(t *testing.T) {
		items, err := JSR([]byte(`[{"kind":"commit","label":"fix","value":"abc123"}]`))
		require.NoError(t, err)
		require.Equal(t,
			"EVIDENCE|disp_lq2x0abc_12345678|cfb61f3f18729a15e1be4aaff91c1dc55d03a918581cd270ba55a80b92042811",
			EvidenceSigningString("disp_lq2x0abc_12345678", items))
	})
	t.Run("evidence_item_hash", func(t *testing.T) {
		h, err := EvidenceItemHash([]byte(`{"kind":"commit","label":"fix","value":"abc123","url":"https://x/y"}`))
		require.NoError(t, err)
		require.Equal(t, sha256Hex([]byte(`{"kind":"commit","label":"fix","url":"https://x/y","value":"abc123"}`)), h)
		require.Equal(t, "28ca7037150240ce6e4db0083b4dc853ea29e91617a14b492185e24c7b7be609", h)
	})
}

func TestSeededShuffleSmallPools(t *testing.T) {
	tests := []struct {
		name string
		pool []string
	}{
		{"nil", nil},
		{"empty", []string{}},
		{"one", []string{"@a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, len(tt.pool), len(SeededShuffle(tt.pool, "seed")))
		})
	}
}

func TestProposalSigningString(t *testing.T) {
	tests := []struct {
		name     string
		amount   *float64
		currency string
		code     string
		expires  *float64
		stake    *int64
		want     string
	}{
		{name: "all absent", want: "@to|task|||||"},
		{name: "zeros are falsy", amount: ptr(0.0), expires: ptr(0.0), stake: ptr[int64](0), want: "@to|task|||||"},
		{name: "negative zero is falsy", amount: ptr(math.Copysign(0, -1)), want: "@to|task|||||"},
		{
			name: "all present", amount: ptr(0.30000000000000004), currency: "USD", code: "pc-1",
			expires: ptr(3600.0), stake: ptr[int64](50),
			want: "@to|task|0.30000000000000004|USD|pc-1|3600|50",
		},
		{name: "large amount", amount: ptr(1e21), want: "@to|task|1e+21||||"},
		{name: "negative stake", stake: ptr[int64](-5), want: "@to|task|||||-5"},
		{name: "stake beyond 2^53 as JS holds it", stake: ptr[int64](9007199254740993), want: "@to|task|||||9007199254740992"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ProposalSigningString("@to", "task", tt.amount, tt.currency, tt.code, tt.expires, tt.stake)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSimpleSigningStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"accept with code", AcceptSigningString("p1", "pc", ptr[int64](10)), "ACCEPT|p1|pc|10"},
		{"accept bare", AcceptSigningString("p1", "", nil), "ACCEPT|p1||"},
		{"accept zero stake", AcceptSigningString("p1", "", ptr[int64](0)), "ACCEPT|p1||"},
		{"reject", RejectSigningString("p1", "too slow"), "REJECT|p1|too slow"},
		{"reject no reason", RejectSigningString("p1", ""), "REJECT|p1|"},
		{"complete", CompleteSigningString("p1", "sha:abc"), "COMPLETE|p1|sha:abc"},
		{"dispute", DisputeSigningString("p1", "no delivery"), "DISPUTE|p1|no delivery"},
		{"dispute intent", DisputeIntentSigningString("p1", "r", "c0ffee"), "DISPUTE_INTENT|p1|r|c0ffee"},
		{"dispute reveal", DisputeRevealSigningString("p1", "n"), "DISPUTE_REVEAL|p1|n"},
		{"arbiter accept", ArbiterAcceptSigningString("d1"), "ARBITER_ACCEPT|d1"},
		{"arbiter decline", ArbiterDeclineSigningString("d1", "busy"), "ARBITER_DECLINE|d1|busy"},
		{"arbiter decline no reason", ArbiterDeclineSigningString("d1", ""), "ARBITER_DECLINE|d1|"},
		{"vote", ArbiterVoteSigningString("d1", "mutual"), "VOTE|d1|mutual"},
		{"auth fractional timestamp", AuthSigningString("n", "c", 1.5), "AGENTCHAT_AUTH|n|c|1.5"},
		{
			"register skills empty",
			RegisterSkillsSigningString([]byte("[]")),
			"REGISTER_SKILLS|4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.got)
		})
	}
}

// The JSON signing strings below were checked against node's JSON.stringify.
func TestJSONSigningStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{
			"msg",
			MsgSigningString("#general", "hi <b>&\"\u2028\n", 1700000000000),
			`{"to":"#general","content":"hi <b>&\"` + "\u2028" + `\n","ts":1700000000000}`,
		},
		{"msg non-finite ts", MsgSigningString("@x", "", math.Inf(1)), `{"to":"@x","content":"","ts":null}`},
		{
			"rotation",
			RotationSigningString("-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n", "B", "2026-01-02T03:04:05.678Z"),
			`{"old_pubkey":"-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n","new_pubkey":"B","timestamp":"2026-01-02T03:04:05.678Z"}`,
		},
		{
			"revocation",
			RevocationSigningString("PEM\n", "f0ff50dacf109dea", "revoked", "2026-01-02T03:04:05.678Z"),
			`{"type":"REVOCATION","pubkey":"PEM\n","agent_id":"f0ff50dacf109dea","reason":"revoked","timestamp":"2026-01-02T03:04:05.678Z"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.got)
		})
	}
}

// Expected hashes were computed with node:
// crypto.createHash('sha256').update(JSON.stringify(it, Object.keys(it).sort())).
func TestEvidenceItemHash(t *testing.T) {
	tests := []struct {
		name string
		item string
		text string // the hashed text, when known
		want string // the hash, when known
	}{
		{
			name: "replacer list filters nested objects and sorts by UTF-16",
			item: `{"b":{"z":1,"a":2,"b":3},"a":[{"a":1,"q":2}],"\ud83d\ude00":1,"\uffff":2,"10":1,"9":2}`,
			text: `{"10":1,"9":2,"a":[{"a":1}],"b":{"a":2,"b":3},"😀":1,"` + "\uffff" + `":2}`,
			want: "af79e83e8a1b156965d94def93949efbde5b7447d13477d9dbc1fdc54c5a3193",
		},
		{
			name: "array item lists its indices",
			item: `[{"0":1,"a":2},{"1":3}]`,
			text: `[{"0":1},{"1":3}]`,
			want: "07b84e16c290e7b0a1409c7aa7ca0a10c8a9a529eab99f2402ff9bc0f65dc3a0",
		},
		{
			name: "listed __proto__ is read through the prototype",
			item: `{"__proto__":1,"b":{"x":1},"a":[{"y":2}],"constructor":3,"toString":4}`,
			text: `{"__proto__":1,"a":[{"__proto__":{"__proto__":null}}],"b":{"__proto__":{"__proto__":null}},"constructor":3,"toString":4}`,
		},
		{
			name: "own nested __proto__ wins",
			item: `{"__proto__":{"z":1},"c":{"__proto__":5}}`,
			text: `{"__proto__":{"__proto__":{"__proto__":null}},"c":{"__proto__":5}}`,
		},
		{name: "infinite number is not null", item: `1e400`, text: `null`, want: "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b"},
		{name: "string", item: `"ab"`, want: "782beb2948d61c6b50ae083a2c63328c5c4d6f41c746c2fc6061d3dac370bc92"},
		{name: "number", item: `5.0`, want: "ef2d127de37b942baad06145e54b0c619a1f22327b2ebbcfbec78f5564afe39d"},
		{name: "empty object", item: ` {} `, want: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvidenceItemHash([]byte(tt.item))
			require.NoError(t, err)
			if tt.text != "" {
				require.Equal(t, sha256Hex([]byte(tt.text)), got)
			}
			if tt.want != "" {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestEvidenceItemHashErrors(t *testing.T) {
	for name, item := range map[string]string{
		"null":      `null`,
		"invalid":   `{"a":`,
		"empty":     ``,
		"two items": `{} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := EvidenceItemHash([]byte(item))
			require.Error(t, err)
		})
	}
}
