package node_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile, pool
}

// With a certificate the node serves wss://, and batched writes go
// through TLS like any other.
func TestTLSListenerServesWSS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	n := startNode(t, noLimits, func(c *node.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	d := websocket.Dialer{HandshakeTimeout: waitTimeout, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	dial := func(name string) *websocket.Conn {
		ws, _, err := d.Dial("wss://"+n.Addr+"/", nil)
		require.NoError(t, err)
		t.Cleanup(func() { ws.Close() })
		require.NoError(t, ws.WriteJSON(map[string]any{"type": "IDENTIFY", "name": name}))
		return ws
	}
	next := func(ws *websocket.Conn, typ string) map[string]any {
		require.NoError(t, ws.SetReadDeadline(time.Now().Add(waitTimeout)))
		for {
			var f map[string]any
			require.NoError(t, ws.ReadJSON(&f))
			if f["type"] == typ {
				return f
			}
		}
	}
	alice, bob := dial("alice"), dial("bob")
	next(alice, "WELCOME")
	next(bob, "WELCOME")
	for i := range 50 {
		require.NoError(t, alice.WriteJSON(map[string]any{"type": "MSG", "to": "#general", "content": "over tls " + string(rune('a'+i%26))}))
	}
	for got := 0; got < 50; {
		if next(bob, "MSG")["from_name"] == "alice" { // skip the server's notices
			got++
		}
	}
}
