package node

import (
	"testing"
)

// Micro-benchmarks of the per-delivery work in user space; the websocket
// round trip is BenchmarkFanout1000, the whole node the loadgen
// (docs/performance.md).

var chatLine = []byte(`{"type":"MSG","ts":1795609179902,"from":"@a1b2c3d4","from_name":"alice","to":"#general","content":"benchmark fan-out payload of a typical short chat line"}`)

// BenchmarkAppendText frames one typical MSG into a write buffer.
func BenchmarkAppendText(b *testing.B) {
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		if len(buf) > 60<<10 {
			buf = buf[:0]
		}
		buf = appendText(buf, chatLine)
	}
}

// BenchmarkSendQueued queues one frame for a connection whose writer is
// running: what a fanout costs per receiver before the write.
func BenchmarkSendQueued(b *testing.B) {
	benchSend(b, &Server{cfg: Config{SendQueue: 1 << 30}})
}

// benchSend queues chatLine to a connection of s whose writer is running.
func benchSend(b *testing.B, s *Server) {
	c := &conn{s: s, writing: true, wake: make(chan struct{}, 1)}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		c.send(chatLine)
		if n++; n == 4096 {
			c.queue, n = c.queue[:0], 0
		}
	}
}

// BenchmarkRedactPlain runs the secret redaction on an ordinary line.
func BenchmarkRedactPlain(b *testing.B) {
	r := newRedactor(map[string]string{"OPENAI_API_KEY": "sk-not-a-real-key-0123456789"})
	line := "benchmark fan-out payload of a typical short chat line, nothing secret in it"
	b.ReportAllocs()
	for b.Loop() {
		if _, changed := r.redact(line); changed {
			b.Fatal("redacted a plain line")
		}
	}
}
