package node

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestFrameType(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"type":"MSG","to":"#general"}`, "MSG"},
		{`{"type":"AGENT_JOINED"}`, "AGENT_JOINED"},
		{`{"type":""}`, "other"},
		{`{"type":"msg"}`, "other"},
		{`{"type":"<script>"}`, "other"},
		{`{"type":"MSG`, "other"},
		{`{"to":"#a","type":"MSG"}`, "other"},
		{`{"type":"` + string(make([]byte, 40)) + `"}`, "other"},
		{`{"type":"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ"}`, "other"},
		{``, "other"},
	} {
		require.Equal(t, c.want, string(frameType([]byte(c.in))), "%q", c.in)
	}
}

// Types beyond maxTypes per direction share the "other" series, so frames
// relayed with made-up types cannot grow the registry without bound.
func TestFrameTypesBounded(t *testing.T) {
	m := newMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.framesOut)
	for i := range 3 * maxTypes {
		m.frameOut(fmt.Appendf(nil, `{"type":"T%s"}`, letters(i)))
	}
	fams, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, fams, 1)
	require.Len(t, fams[0].GetMetric(), maxTypes+1)
	total := 0.0
	for _, s := range fams[0].GetMetric() {
		total += s.GetCounter().GetValue()
	}
	require.Equal(t, float64(3*maxTypes), total, "every frame is still counted")
}

// letters spells i in A-Z digits.
func letters(i int) string {
	s := ""
	for {
		s = string(rune('A'+i%26)) + s
		if i /= 26; i == 0 {
			return s
		}
	}
}

// BenchmarkSendCounted is BenchmarkSendQueued with the metrics on: what
// counting a delivery by type adds (no allocation).
func BenchmarkSendCounted(b *testing.B) {
	benchSend(b, &Server{cfg: Config{SendQueue: 1 << 30}, metrics: newMetrics()})
}
