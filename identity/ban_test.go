package identity

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBanSignDecodeVerify(t *testing.T) {
	pub, priv, err := GenerateKey()
	require.NoError(t, err)
	at := time.UnixMilli(1_700_000_000_000)
	b, err := SignBan(priv, "@0123456789abcdef", "spam | and more", false, at)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(pub), b.Operator)
	require.Equal(t, "0123456789abcdef", b.AgentID)
	require.Equal(t, "AGENTCHAT_BAN_V1|"+b.Operator+"|0123456789abcdef|ban|1700000000000|spam | and more", b.SigningString())

	back, err := DecodeBan(b.Encode())
	require.NoError(t, err)
	require.Equal(t, b, back)
	require.Equal(t, b.ID(), back.ID())

	lift, err := SignBan(priv, "0123456789abcdef", "", true, at.Add(time.Second))
	require.NoError(t, err)
	require.NotEqual(t, b.ID(), lift.ID())
	require.Contains(t, lift.SigningString(), "|lift|")

	// Any change to a signed field breaks the signature.
	for name, mut := range map[string]func(*Ban){
		"agent":     func(x *Ban) { x.AgentID = "fedcba9876543210" },
		"lift":      func(x *Ban) { x.Lift = true },
		"reason":    func(x *Ban) { x.Reason = "other" },
		"timestamp": func(x *Ban) { x.Timestamp++ },
		"operator": func(x *Ban) {
			other, _, _ := GenerateKey()
			x.Operator = hex.EncodeToString(other)
		},
	} {
		c := *b
		mut(&c)
		_, err := DecodeBan(c.Encode())
		require.ErrorIs(t, err, ErrBadSignature, name)
	}
}

func TestDecodeBanRejectsShapes(t *testing.T) {
	_, priv, err := GenerateKey()
	require.NoError(t, err)
	b, err := SignBan(priv, "0123456789abcdef", "r", false, time.UnixMilli(1))
	require.NoError(t, err)
	good := string(b.Encode())
	for name, in := range map[string]string{
		"not JSON":       "{",
		"unknown member": strings.Replace(good, `{"type"`, `{"x":1,"type"`, 1),
		"trailing":       good + "{}",
		"type":           strings.Replace(good, `"BAN"`, `"BANNED"`, 1),
		"operator upper": strings.Replace(good, b.Operator, strings.ToUpper(b.Operator), 1),
		"agent":          strings.Replace(good, "0123456789abcdef", "not-an-id", 1),
		"timestamp":      strings.Replace(good, `"timestamp":1`, `"timestamp":0`, 1),
		"reason long":    strings.Replace(good, `"reason":"r"`, `"reason":"`+strings.Repeat("r", MaxBanReason+1)+`"`, 1),
		"too large":      good + strings.Repeat(" ", MaxBanRecord),
	} {
		_, err := DecodeBan([]byte(in))
		require.ErrorIs(t, err, ErrBadBan, name)
	}
	_, err = SignBan(priv, "nope", "", false, time.Now())
	require.ErrorIs(t, err, ErrBadBan)
}

func TestParseOperatorKey(t *testing.T) {
	pub, _, err := GenerateKey()
	require.NoError(t, err)
	k, err := ParseOperatorKey(hex.EncodeToString(pub))
	require.NoError(t, err)
	require.True(t, pub.Equal(k))
	k, err = ParseOperatorKey(EncodePublicPEM(pub))
	require.NoError(t, err)
	require.True(t, pub.Equal(k))
	_, err = ParseOperatorKey("abc")
	require.Error(t, err)
}

// TestDecodeBanRefusesSignatureSpellings: Verify accepts other spellings of
// a signature (whitespace, URL-safe alphabet, no padding), but a ban's ID
// covers its signature, so only the canonical spelling is a ban record:
// otherwise one signed record would be many records.
func TestDecodeBanRefusesSignatureSpellings(t *testing.T) {
	_, priv, err := GenerateKey()
	require.NoError(t, err)
	b, err := SignBan(priv, "0123456789abcdef", "r", false, time.UnixMilli(1_700_000_000_000))
	require.NoError(t, err)
	unpadded := strings.TrimRight(b.Sig, "=")
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(b.Sig)
	if urlSafe == b.Sig { // no + or / in this signature: force a spelling change
		urlSafe = b.Sig[:10] + "\n" + b.Sig[10:]
	}
	for name, sig := range map[string]string{
		"newline": b.Sig[:40] + "\n" + b.Sig[40:], "space": " " + b.Sig,
		"unpadded": unpadded, "url-safe": urlSafe,
	} {
		v := *b
		v.Sig = sig
		_, err := DecodeBan(v.Encode())
		require.ErrorIs(t, err, ErrBadBan, name)
	}
	// The last base64 character carries 2 unused bits: setting them is
	// another spelling of the same 64 bytes.
	v := *b
	last := strings.IndexByte(b.Sig, '=') - 1
	alt := strings.IndexByte(stdAlphabet, b.Sig[last]) ^ 1
	v.Sig = b.Sig[:last] + string(stdAlphabet[alt]) + b.Sig[last+1:]
	_, err = DecodeBan(v.Encode())
	require.ErrorIs(t, err, ErrBadBan, "stray bits")
}

const stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
