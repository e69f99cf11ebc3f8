package node

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// appendText writes RFC 6455 §5.2 headers: FIN + text opcode, no mask,
// and the 7-bit, 16-bit or 64-bit payload length form.
func TestAppendTextHeaders(t *testing.T) {
	for _, tc := range []struct {
		n      int
		header []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, binary.BigEndian.AppendUint64([]byte{0x81, 127}, 65536)},
	} {
		p := bytes.Repeat([]byte{'x'}, tc.n)
		got := appendText([]byte("prev"), p)
		require.Equal(t, []byte("prev"), got[:4], "appends")
		require.Equal(t, tc.header, got[4:4+len(tc.header)], "header for %d bytes", tc.n)
		require.Equal(t, p, got[4+len(tc.header):], "payload for %d bytes", tc.n)
	}
}
