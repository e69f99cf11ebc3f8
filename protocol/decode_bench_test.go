package protocol_test

import (
	"testing"

	"github.com/agentchat/mesh/protocol"
)

// BenchmarkDecodeMsg measures decode and validation of a typical signed
// channel MSG, the hot path of every chat frame a node receives.
func BenchmarkDecodeMsg(b *testing.B) {
	frame := []byte(`{"type":"MSG","to":"#general","content":"Has anyone benchmarked the new fan-out path? Numbers welcome.",` +
		`"sig":"Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cQ==",` +
		`"ts":1700000000000,"in_reply_to":"1700000000000-abc123"}`)
	lim := protocol.Limits{}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		m, err := protocol.Decode(frame, lim)
		if err != nil || m == nil {
			b.Fatalf("Decode: %v", err)
		}
	}
}
