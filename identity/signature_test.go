package identity_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

// PROTOCOL.md §26 signing strings and their signatures by the vector key.
var signVectors = []struct {
	name, msg, sig string
}{
	{
		"auth",
		"AGENTCHAT_AUTH|00112233445566778899aabbccddeeff|chal_lq2x0abc_deadbeef|1700000000000",
		"YOSNQf6auOh+8UXkffEXYF61BxOR4qEWax1sLhZRWYiSpWXnhWty8zkIEL7/keYebMU1+OaMBH3GgGAKGYSgBg==",
	},
	{
		"proposal",
		"@0123456789abcdef|Review PR #42|1.5|SOL||300|",
		"DPMNkvZcdPu3TAr5gRqaQz0ix9VRdX15vdtXMA7rYP7SyDMvlObzR/4hcB8t71MsZyoYtLv3xdBqWMNWV4HoCg==",
	},
	{
		"accept",
		"ACCEPT|prop_lq2x0abc_0badf00d||25",
		"pApRdcicZ2YPhlEPhXOOB1/1cUGQ/7cHoU3mjn2g+1fV/QyAVk+UPt1718rSqF+nEo38uBjUs8jLE+cbhkh4DA==",
	},
	{
		"register skills",
		"REGISTER_SKILLS|5d466af512b6708b046ed912802f3a752a069c20e9eacac4717cef1e1d824277",
		"kZBWU7WolKTWfuaaqaHnxBjcnA7gsrZhbCWjpg3R4JCd2GnNNL845Sxk9U4U5HCnLcofJoyr8fjtKvCEuVOmDw==",
	},
}

func TestSignVectors(t *testing.T) {
	for _, tt := range signVectors {
		t.Run(tt.name, func(t *testing.T) {
			got := identity.Sign(vectorKey(), tt.msg)
			require.Equal(t, tt.sig, got)
			require.Len(t, got, 88)
			require.True(t, identity.Verify(vectorPub(), tt.msg, got))
		})
	}
}

func TestVerifyEncodings(t *testing.T) {
	msg, sig := signVectors[0].msg, signVectors[0].sig
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(sig)
	raw, err := base64.StdEncoding.DecodeString(sig)
	require.NoError(t, err)
	flipped := append([]byte(nil), raw...)
	flipped[10] ^= 1

	tests := []struct {
		name string
		sig  string
		want bool
	}{
		{"standard padded", sig, true},
		{"no padding", strings.TrimRight(sig, "="), true},
		{"one pad char", strings.TrimSuffix(sig, "="), true},
		{"url-safe", urlSafe, true},
		{"url-safe no padding", strings.TrimRight(urlSafe, "="), true},
		{"mixed alphabets", strings.Replace(sig, "+", "-", 1), true},
		{"line breaks", sig[:40] + "\n" + sig[40:76] + "\r\n" + sig[76:], true},
		{"spaces and tabs", " \t" + sig[:20] + " " + sig[20:] + "\t\n", true},
		{"whitespace inside padding", sig[:87] + " =", true},
		{"empty", "", false},
		{"whitespace only", " \n\t", false},
		{"truncated", sig[:84], false},
		{"one char short", sig[:85] + "==", false},
		{"extra chars", strings.TrimRight(sig, "=") + "AAAA", false},
		{"63 bytes", base64.StdEncoding.EncodeToString(raw[:63]), false},
		{"65 bytes", base64.StdEncoding.EncodeToString(append(raw[:64:64], 0)), false},
		{"three pad chars", sig + "=", false},
		{"data after padding", sig + "A", false},
		{"padding in the middle", sig[:40] + "=" + sig[40:], false},
		{"non-base64 char", "!" + sig[1:], false},
		{"non-ascii", "é" + sig[2:], false},
		{"nul byte", sig[:86] + "\x00", false},
		{"hex instead of base64", strings.Repeat("ab", 64), false},
		{"flipped bit", base64.StdEncoding.EncodeToString(flipped), false},
		{"signature of another message", signVectors[1].sig, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, identity.Verify(vectorPub(), msg, tt.sig))
		})
	}
}

func TestVerifyRejectsWrongKeyOrMessage(t *testing.T) {
	msg, sig := signVectors[0].msg, signVectors[0].sig
	other, _, err := identity.GenerateKey()
	require.NoError(t, err)

	require.False(t, identity.Verify(other, msg, sig))
	require.False(t, identity.Verify(vectorPub(), msg+" ", sig))
	require.False(t, identity.Verify(vectorPub(), "", sig))
}

func TestVerifyNeverPanicsOnBadKeys(t *testing.T) {
	sig := signVectors[0].sig
	for _, pub := range []ed25519.PublicKey{nil, {}, make([]byte, 31), make([]byte, 33), make([]byte, 64)} {
		require.NotPanics(t, func() {
			require.False(t, identity.Verify(pub, signVectors[0].msg, sig))
		})
	}
}
