package node_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
)

// gathered returns the value of the series of family name whose label
// values, joined by ",", are labels (-1 if there is none).
func gathered(t *testing.T, reg *prometheus.Registry, name, labels string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			vals := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				vals = append(vals, l.GetValue())
			}
			if strings.Join(vals, ",") == labels {
				if m.Counter != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// A lone node counts what agents send and what it delivers, by type, and
// its gauges follow the agents.
func TestMetricsCountFrames(t *testing.T) {
	reg := prometheus.NewRegistry()
	n := startNode(t, func(c *node.Config) { c.Metrics = reg })
	a := n.newAgent(t, "alice")
	b := n.newAgent(t, "bob")
	a.send(map[string]any{"type": "JOIN", "channel": "#general"})
	a.next("JOINED")
	b.send(map[string]any{"type": "JOIN", "channel": "#general"})
	b.next("JOINED")
	a.send(map[string]any{"type": "MSG", "to": "#general", "content": "counted"})
	b.nextMatch("the message", func(f frame) bool { return f.typ() == "MSG" && f.str("content") == "counted" })
	a.send(`{"type":`)
	a.next("ERROR")

	require.Equal(t, 1.0, gathered(t, reg, "agentchat_frames_in_total", "MSG"))
	require.Equal(t, 1.0, gathered(t, reg, "agentchat_frames_in_total", "invalid"))
	require.GreaterOrEqual(t, gathered(t, reg, "agentchat_frames_out_total", "MSG"), 1.0)
	require.GreaterOrEqual(t, gathered(t, reg, "agentchat_frames_out_total", "WELCOME"), 2.0)
	require.Greater(t, gathered(t, reg, "agentchat_frame_bytes_in_total", "MSG"), 20.0)
	require.Equal(t, 2.0, gathered(t, reg, "agentchat_agents_connected", ""))
	require.Equal(t, 0.0, gathered(t, reg, "agentchat_agents_verified", ""), "ephemeral agents")
	require.Equal(t, 3.0, gathered(t, reg, "agentchat_channels", ""))
	if runtime.GOOS == "linux" { // the parker is Linux only
		require.Eventually(t, func() bool { return gathered(t, reg, "agentchat_agents_parked", "") == 2 },
			10*time.Second, 20*time.Millisecond, "idle agents park after ParkAfter")
	}
}
