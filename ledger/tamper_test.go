package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTamperEveryByte flips bits of every byte of a receipt's JSON: each
// mutation must fail to decode, fail to verify, or decode to a receipt
// identical to the original (a member name in another letter case, say).
func TestTamperEveryByte(t *testing.T) {
	cases := []struct {
		name string
		s    rspec
	}{
		{"small completion", rspec{id: "p1", task: "t"}},
		{"dispute with amount and stakes", rspec{id: "p2", task: "t", kind: KindDispute, by: &bob, reason: "r", amount: f64(2.5), propStake: i64(10), accStake: i64(3)}},
	}
	masks := []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.s.signed(t)
			js := orig.CanonicalJSON()
			var undecodable, unverifiable, identical int
			buf := make([]byte, len(js))
			for i := range js {
				for _, m := range masks {
					copy(buf, js)
					buf[i] ^= m
					r, err := DecodeReceipt(buf)
					if err != nil {
						undecodable++
						continue
					}
					if Verify(&r) != nil {
						unverifiable++
						continue
					}
					require.Equal(t, orig, r, "byte %d ^ %#x accepted as a different receipt: %q", i, m, buf)
					identical++
				}
			}
			t.Logf("%d bytes, %d mutations: %d undecodable, %d fail verification, %d decode identical",
				len(js), len(js)*len(masks), undecodable, unverifiable, identical)
		})
	}
}
