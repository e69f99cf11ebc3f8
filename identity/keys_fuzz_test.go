package identity_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

func FuzzParsePublicPEM(f *testing.F) {
	f.Add(vectorPubPEM)
	f.Add(strings.TrimSuffix(vectorPubPEM, "\n"))
	f.Add(strings.ReplaceAll(vectorPubPEM, "\n", "\r\n"))
	f.Add(vectorPrivPEM)
	f.Add(vectorPubPEM + vectorPubPEM)
	f.Add("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := identity.ParsePublicPEM(s)
		if err != nil {
			require.Nil(t, pub)
			return
		}
		again, err := identity.ParsePublicPEM(identity.EncodePublicPEM(pub))
		require.NoError(t, err)
		require.Equal(t, pub, again)
	})
}

func FuzzParsePrivatePEM(f *testing.F) {
	f.Add(vectorPrivPEM)
	f.Add(strings.ReplaceAll(vectorPrivPEM, "\n", "\r\n"))
	f.Add(vectorPubPEM)
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		priv, err := identity.ParsePrivatePEM(s)
		if err != nil {
			require.Nil(t, priv)
			return
		}
		again, err := identity.ParsePrivatePEM(identity.EncodePrivatePEM(priv))
		require.NoError(t, err)
		require.Equal(t, priv, again)
	})
}
