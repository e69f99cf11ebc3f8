package testnet_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/testnet"
)

// scrape reads a node's GET /metrics with the Prometheus text parser.
func scrape(t *testing.T, nd *testnet.Node) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(nd.HTTP() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value is the sum of a family's samples whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		match := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// eventually scrapes nd until cond holds, within a generous bound.
func eventually(t *testing.T, nd *testnet.Node, what string, cond func(map[string]*dto.MetricFamily) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if cond(scrape(t, nd)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMetricsMove(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 2, Dir: t.TempDir(), Topology: testnet.Line,
		Tune: func(i int, cfg *testnet.NodeConfig) {
			cfg.Market.MinAge = 0
			if i == 1 {
				cfg.Webhooks = []string{"http://127.0.0.1:9/escrow"} // series only; no stake, no event
			}
		},
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	defer func() { require.NoError(t, net.Close()) }()
	n0, n1 := net.Nodes[0], net.Nodes[1]

	before := scrape(t, n1)
	require.Equal(t, 0.0, value(before, "agentchat_agents_connected", nil))
	require.Equal(t, 1.0, value(before, "agentchat_mesh_peers", nil))
	require.Equal(t, 1.0, value(before, "agentchat_mesh_nodes", nil))
	require.Equal(t, 3.0, value(before, "agentchat_channels", nil))
	for _, name := range []string{"agentchat_gossip_published_total", "agentchat_bridge_delivered_total",
		"agentchat_receipts", "agentchat_ledger_log_records", "go_goroutines", "agentchat_webhook_delivered_total",
		"agentchat_webhook_failed_total"} {
		require.Contains(t, before, name)
	}
	require.NotContains(t, scrape(t, n0), "agentchat_webhook_delivered_total", "no webhook series without webhooks")
	// The operator page is the root of a full node.
	resp, err := http.Get(n1.HTTP() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	// libp2p's own series share the registry.
	require.Contains(t, before, "libp2p_swarm_connections_opened_total")
	require.Contains(t, before, "libp2p_rcmgr_connections")

	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	sender, err := testnet.Dial(ctx, n0.WS())
	require.NoError(t, err)
	defer sender.Close()
	_, err = sender.Identify(ctx, "sender", key)
	require.NoError(t, err)
	reader, err := testnet.Dial(ctx, n1.WS())
	require.NoError(t, err)
	defer reader.Close()
	_, err = reader.Identify(ctx, "reader", nil)
	require.NoError(t, err)
	require.NoError(t, reader.Send(map[string]any{"type": "JOIN", "channel": "#general"}))
	_, err = reader.Next(ctx, "JOINED")
	require.NoError(t, err)

	eventually(t, n1, "the remote agent", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "agentchat_agents_remote", nil) >= 1 && value(f, "agentchat_agents_connected", nil) == 1
	})
	eventually(t, n0, "a verified agent", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "agentchat_agents_verified", nil) == 1
	})

	// Server notices are MSG frames too: count from here.
	mid := scrape(t, n1)
	require.NoError(t, sender.Send(map[string]any{"type": "MSG", "to": "#general", "content": "hello metrics"}))
	for {
		m, err := reader.Next(ctx, "MSG")
		require.NoError(t, err)
		if m.String("content") == "hello metrics" {
			break
		}
	}

	eventually(t, n0, "the MSG counted in and published", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "agentchat_frames_in_total", map[string]string{"type": "MSG"}) == 1 &&
			value(f, "agentchat_frame_bytes_in_total", map[string]string{"type": "MSG"}) > 0 &&
			value(f, "agentchat_gossip_published_total", nil) > value(before, "agentchat_gossip_published_total", nil) &&
			value(f, "agentchat_write_seconds", nil) > 0
	})
	eventually(t, n1, "the MSG delivered", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "agentchat_frames_out_total", map[string]string{"type": "MSG"}) > value(mid, "agentchat_frames_out_total", map[string]string{"type": "MSG"}) &&
			value(f, "agentchat_bridge_delivered_total", nil) > value(mid, "agentchat_bridge_delivered_total", nil)
	})

	// Frames past the post-auth window answer RATE_LIMITED: every frame the
	// reader sent (IDENTIFY, JOIN, 70 PINGs) is counted once, as received or
	// as refused.
	for range 70 {
		require.NoError(t, reader.Send(map[string]any{"type": "PING"}))
	}
	eventually(t, n1, "post-auth rate limiting", func(f map[string]*dto.MetricFamily) bool {
		limited := value(f, "agentchat_rate_limited_total", map[string]string{"phase": "post_auth"})
		return limited >= 1 && limited+value(f, "agentchat_frames_in_total", nil) == 72
	})

	// A settled proposal is a proposal in state completed, a receipt and a
	// log record here, and a receipt on the other node once it is gossiped.
	_, _, err = testnet.Settle(ctx, n0.WS(), "proposer", "worker")
	require.NoError(t, err)
	eventually(t, n0, "the settlement", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "agentchat_proposals", map[string]string{"state": "completed"}) == 1 &&
			value(f, "agentchat_receipts", nil) == 1 && value(f, "agentchat_ledger_log_records", nil) == 1
	})
	eventually(t, n1, "the gossiped receipt", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "agentchat_receipts", nil) == 1
	})
}
