package identity_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

// PROTOCOL.md §26: seed 00 01 … 1f, as exported by Node crypto.
const (
	vectorPrivPEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n-----END PRIVATE KEY-----\n"
	vectorPubPEM  = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n"
	vectorPubHex  = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
)

func vectorKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func vectorPub() ed25519.PublicKey {
	return vectorKey().Public().(ed25519.PublicKey)
}

func pemOf(t testing.TB, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestVectorKeyEncoding(t *testing.T) {
	priv := vectorKey()
	pub := vectorPub()

	require.Equal(t, vectorPubHex, hex.EncodeToString(pub))
	require.Equal(t, vectorPrivPEM, identity.EncodePrivatePEM(priv))
	require.Equal(t, vectorPubPEM, identity.EncodePublicPEM(pub))

	gotPub, err := identity.ParsePublicPEM(vectorPubPEM)
	require.NoError(t, err)
	require.Equal(t, pub, gotPub)

	gotPriv, err := identity.ParsePrivatePEM(vectorPrivPEM)
	require.NoError(t, err)
	require.Equal(t, priv, gotPriv)
}

func TestGenerateKeyRoundTrip(t *testing.T) {
	pub, priv, err := identity.GenerateKey()
	require.NoError(t, err)

	gotPub, err := identity.ParsePublicPEM(identity.EncodePublicPEM(pub))
	require.NoError(t, err)
	require.Equal(t, pub, gotPub)

	gotPriv, err := identity.ParsePrivatePEM(identity.EncodePrivatePEM(priv))
	require.NoError(t, err)
	require.Equal(t, priv, gotPriv)
}

func TestEncodePanicsOnBadLength(t *testing.T) {
	require.Panics(t, func() { identity.EncodePublicPEM(make([]byte, 31)) })
	require.Panics(t, func() { identity.EncodePrivatePEM(make([]byte, 32)) })
}

func TestParsePublicPEMTolerance(t *testing.T) {
	noNL := strings.TrimSuffix(vectorPubPEM, "\n")
	crlf := strings.ReplaceAll(vectorPubPEM, "\n", "\r\n")
	tests := []struct {
		name string
		in   string
	}{
		{"node export", vectorPubPEM},
		{"no trailing newline", noNL},
		{"crlf", crlf},
		{"crlf without final newline", strings.TrimSuffix(crlf, "\r\n")},
		{"surrounding whitespace", "  \n\t" + vectorPubPEM + "\n\n  "},
		{"trailing spaces on lines", strings.ReplaceAll(vectorPubPEM, "\n", " \n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := identity.ParsePublicPEM(tt.in)
			require.NoError(t, err)
			require.Equal(t, vectorPub(), pub)
		})
	}
}

func TestParsePublicPEMRejects(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	rsaDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	require.NoError(t, err)

	xKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	xDER, err := x509.MarshalPKIXPublicKey(xKey.PublicKey())
	require.NoError(t, err)

	vectorDER, err := base64.StdEncoding.DecodeString("MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")
	require.NoError(t, err)

	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", identity.ErrBadPEM},
		{"whitespace", " \r\n\t", identity.ErrBadPEM},
		{"garbage", "hello world", identity.ErrBadPEM},
		{"bare base64", "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=", identity.ErrBadPEM},
		{"truncated base64", strings.Replace(vectorPubPEM, "Mbg=\n", "Mb\n", 1), identity.ErrBadPEM},
		{"missing footer", strings.TrimSuffix(vectorPubPEM, "-----END PUBLIC KEY-----\n"), identity.ErrBadPEM},
		{"mismatched footer", strings.Replace(vectorPubPEM, "END PUBLIC", "END PRIVATE", 1), identity.ErrBadPEM},
		{"junk before", "x" + vectorPubPEM, identity.ErrBadPEM},
		{"junk after", vectorPubPEM + "x", identity.ErrBadPEM},
		{"second block", vectorPubPEM + vectorPubPEM, identity.ErrBadPEM},
		{"trailing private block", vectorPubPEM + vectorPrivPEM, identity.ErrBadPEM},
		{"pem headers", pemWithHeaders(t, vectorDER), identity.ErrBadPEM},
		{"private key block", vectorPrivPEM, identity.ErrPEMType},
		{"rsa public key type", pemOf(t, "RSA PUBLIC KEY", vectorDER), identity.ErrPEMType},
		{"rsa key", pemOf(t, "PUBLIC KEY", rsaDER), identity.ErrNotEd25519},
		{"ec p-256 key", pemOf(t, "PUBLIC KEY", ecDER), identity.ErrNotEd25519},
		{"x25519 key", pemOf(t, "PUBLIC KEY", xDER), identity.ErrNotEd25519},
		{"truncated der", pemOf(t, "PUBLIC KEY", vectorDER[:40]), identity.ErrNotEd25519},
		{"trailing der", pemOf(t, "PUBLIC KEY", append(vectorDER[:len(vectorDER):len(vectorDER)], 0)), identity.ErrNotEd25519},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := identity.ParsePublicPEM(tt.in)
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, pub)
		})
	}
}

func TestParsePrivatePEMRejects(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	require.NoError(t, err)

	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", identity.ErrBadPEM},
		{"garbage", "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n", identity.ErrBadPEM},
		{"public key block", vectorPubPEM, identity.ErrPEMType},
		{"rsa key", pemOf(t, "PRIVATE KEY", rsaDER), identity.ErrNotEd25519},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			priv, err := identity.ParsePrivatePEM(tt.in)
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, priv)
		})
	}
}

func pemWithHeaders(t testing.TB, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: der}))
}
