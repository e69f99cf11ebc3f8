package bridge

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeVerify feeds verification legs to the decoder: it never
// panics, and a leg it accepts round-trips unchanged.
func FuzzDecodeVerify(f *testing.F) {
	for _, seed := range []string{
		`{"op":"ask","request_id":"verify_m1_0123abcd","agent":{"id":"zz000000"},"target":"ab12","nonce":"0123456789abcdef"}`,
		`{"op":"answer","request_id":"verify_m1_0123abcd","agent":{"id":"ab","pubkey":"PEM"},"nonce":"0123456789abcdef","sig":"c2ln"}`,
		`{"op":"answer","request_id":"verify_m1_0123abcd","agent":{"id":"ab"},"nonce":"0123456789abcdef"}`,
		`{"op":"other","request_id":"x","agent":{"id":"a"},"nonce":"0123456789abcdef"}`,
		`{"op":"ask","nonce":"short"}`,
		`null`, `{`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		m, err := decodeVerify([]byte(data))
		if err != nil {
			return
		}
		again, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := decodeVerify(again)
		require.NoError(t, err, "re-encoded %s", again)
		require.Equal(t, m, m2)
	})
}
