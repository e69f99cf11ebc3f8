package identity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeBan checks that decoding a ban record never panics, and that a
// record that decodes (so verifies) re-encodes to one that decodes to the
// same record with the same ID.
func FuzzDecodeBan(f *testing.F) {
	_, priv, err := GenerateKey()
	require.NoError(f, err)
	b, err := SignBan(priv, "0123456789abcdef", "spam", false, time.UnixMilli(1_700_000_000_000))
	require.NoError(f, err)
	js := b.Encode()
	f.Add(js)
	f.Add(js[:len(js)/2])
	for _, s := range []string{"", "null", "{}", `{"type":"BAN"}`, `{"type":"BAN","lift":true,"timestamp":1e30}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBan(data)
		if err != nil {
			return
		}
		b2, err := DecodeBan(b.Encode())
		require.NoError(t, err)
		require.Equal(t, b, b2)
		require.Equal(t, b.ID(), b2.ID())
	})
}
