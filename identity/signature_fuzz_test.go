package identity_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/agentchat/mesh/identity"
)

func FuzzVerify(f *testing.F) {
	for _, v := range signVectors {
		f.Add([]byte(vectorPub()), v.msg, v.sig)
	}
	f.Add([]byte(vectorPub()), signVectors[0].msg, "")
	f.Add([]byte{}, "", "====")
	f.Add(make([]byte, 31), "x", signVectors[0].sig)
	f.Fuzz(func(t *testing.T, pub []byte, msg, sig string) {
		// Must not panic for any key length or signature text.
		identity.Verify(ed25519.PublicKey(pub), msg, sig)
	})
}
