package node_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
)

// Frames that break RFC 6455 close the connection with the right code and
// reason; a valid fragmented message is relayed whole.
func TestFramingViolationsClose(t *testing.T) {
	n := startNode(t, func(c *node.Config) { c.MaxFrame = 1024 })
	key := [4]byte{7, 7, 7, 7}
	for _, tc := range []struct {
		name   string
		raw    []byte
		code   int
		reason string
	}{
		{"unmasked", []byte{0x81, 0x02, '{', '}'}, 1002, "Client frame not masked"},
		{"reserved bit", append([]byte{0xC1, 0x80}, key[:]...), 1002, "Reserved bits set"},
		{"unknown opcode", node.ClientFrame(0x3, true, nil, key), 1002, "Unknown opcode"},
		{"fragmented ping", node.ClientFrame(0x9, false, nil, key), 1002, "Invalid control frame"},
		{"continuation first", node.ClientFrame(0x0, true, []byte("x"), key), 1002, "Continuation without a message"},
		{"close code 1005", node.ClientFrame(0x8, true, []byte{0x03, 0xED}, key), 1002, "Invalid close code"},
		{"close reason not UTF-8", node.ClientFrame(0x8, true, []byte{0x03, 0xE8, 0xFF}, key), 1007, "Invalid UTF-8 in close reason"},
		{"too large", node.ClientFrame(0x1, true, make([]byte, 1025), key), 1009, "Message too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := n.dial(t)
			_, err := c.ws.UnderlyingConn().Write(tc.raw)
			require.NoError(t, err)
			ce := c.closeError()
			require.Equal(t, tc.code, ce.Code)
			require.Equal(t, tc.reason, ce.Text)
		})
	}

	c := n.newAgent(t, "frag")
	for i, part := range []string{`{"type":`, `"PI`, `NG"}`} {
		op := byte(0x0)
		if i == 0 {
			op = 0x1
		}
		_, err := c.ws.UnderlyingConn().Write(node.ClientFrame(op, i == 2, []byte(part), key))
		require.NoError(t, err)
	}
	c.next("PONG")
}
