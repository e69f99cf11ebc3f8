package testnet

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentchat/mesh/bridge"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/p2p"
)

// Metrics is one node's Prometheus registry: the node's own series
// (node/metrics.go), libp2p's, and the mesh, market and ledger series
// registered here from their Stats at scrape time, plus the Go runtime and
// process collectors. Each node has its own, so nodes sharing a process
// (a testnet) do not mix their series.
type Metrics struct{ *prometheus.Registry }

func newMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Metrics{reg}
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// The names are fixed, so registering twice is a wiring mistake and the
// register functions panic (MustRegister).

// counter and gauge build series that read a value at scrape time.
func counter(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
}

func gauge(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
}

// registerMesh adds the GossipSub router's and the bridge's counters.
func (m *Metrics) registerMesh(h *p2p.Host, b *bridge.Bridge) {
	ps := func(f func(p2p.Stats) uint64) func() float64 {
		return func() float64 { return float64(f(h.Stats())) }
	}
	bs := func(f func(bridge.Stats) uint64) func() float64 {
		return func() float64 { return float64(f(b.Stats())) }
	}
	m.MustRegister(
		gauge("agentchat_mesh_peers", "Connected libp2p peers.", func() float64 { return float64(len(h.Peers())) }),
		gauge("agentchat_mesh_nodes", "Other nodes whose roster this node holds.", func() float64 { return float64(b.Stats().Nodes) }),
		counter("agentchat_gossip_published_total", "Messages this host published on GossipSub.", ps(func(s p2p.Stats) uint64 { return s.Published })),
		counter("agentchat_gossip_delivered_total", "Remote GossipSub messages validated and delivered here.", ps(func(s p2p.Stats) uint64 { return s.Delivered })),
		counter("agentchat_gossip_dropped_total", "GossipSub messages lost to full queues.", ps(func(s p2p.Stats) uint64 { return s.Dropped })),
		counter("agentchat_gossip_dropped_control_total", "Dropped GossipSub RPCs carrying only control messages.", ps(func(s p2p.Stats) uint64 { return s.DroppedControl })),
		counter("agentchat_gossip_undeliverable_total", "GossipSub messages a slow local subscriber missed.", ps(func(s p2p.Stats) uint64 { return s.Undeliverable })),
		counter("agentchat_gossip_rejected_total", "GossipSub messages refused as invalid.", ps(func(s p2p.Stats) uint64 { return s.Rejected })),
		counter("agentchat_gossip_ignored_total", "GossipSub messages our validator ignored.", ps(func(s p2p.Stats) uint64 { return s.Ignored })),
		counter("agentchat_gossip_duplicates_total", "Copies of GossipSub messages already seen.", ps(func(s p2p.Stats) uint64 { return s.Duplicates })),
		counter("agentchat_bridge_published_total", "Events the bridge published to the mesh.", bs(func(s bridge.Stats) uint64 { return s.Published })),
		counter("agentchat_bridge_delivered_total", "Mesh events the bridge delivered to this node.", bs(func(s bridge.Stats) uint64 { return s.Delivered })),
		counter("agentchat_bridge_duplicates_total", "Mesh events the bridge had already delivered.", bs(func(s bridge.Stats) uint64 { return s.Duplicates })),
		counter("agentchat_bridge_lost_total", "Mesh events the bridge saw a gap for (sequence numbers skipped).", bs(func(s bridge.Stats) uint64 { return s.Lost })),
		counter("agentchat_bridge_rejected_total", "Mesh events the bridge refused.", bs(func(s bridge.Stats) uint64 { return s.Rejected })),
		counter("agentchat_bridge_relay_refused_total", "Remote members' channels not relayed: MaxRelayChannels reached.", bs(func(s bridge.Stats) uint64 { return s.RelayRefused })),
		counter("agentchat_bridge_lookups_total", "Roster fetch rounds for agents the roster did not name.", bs(func(s bridge.Stats) uint64 { return s.Lookups })),
	)
}

// registerMarket adds proposals by state and the receipts folded into
// the ratings.
func (m *Metrics) registerMarket(mk *market.Machine) {
	m.MustRegister(
		proposalCollector{mk},
		gauge("agentchat_receipts", "Verified receipts the ratings fold.", func() float64 { return float64(mk.Table().Receipts()) }),
	)
}

// registerLedger adds the receipt log's size and, with webhooks, their
// delivery counters.
func (m *Metrics) registerLedger(store *ledger.Store, wh *ledger.Webhooks) {
	cs := []prometheus.Collector{
		gauge("agentchat_ledger_log_records", "Records in this node's receipt log.", func() float64 { return float64(store.LogSize()) }),
	}
	if wh != nil {
		ws := func(f func(ledger.WebhookStats) int64) func() float64 {
			return func() float64 { return float64(f(wh.Stats())) }
		}
		cs = append(cs,
			counter("agentchat_webhook_attempts_total", "Webhook requests made.", ws(func(s ledger.WebhookStats) int64 { return s.Attempts })),
			counter("agentchat_webhook_delivered_total", "Webhook events a URL answered 2xx.", ws(func(s ledger.WebhookStats) int64 { return s.Delivered })),
			counter("agentchat_webhook_failed_total", "Webhook events given up on.", ws(func(s ledger.WebhookStats) int64 { return s.Failed })),
			counter("agentchat_webhook_retries_total", "Webhook attempts after a first failure.", ws(func(s ledger.WebhookStats) int64 { return s.Retries })),
			counter("agentchat_webhook_dropped_total", "Webhook events not queued (queue full).", ws(func(s ledger.WebhookStats) int64 { return s.Dropped })),
		)
	}
	m.MustRegister(cs...)
}

// proposalCollector reports agentchat_proposals{state}: the states vary,
// so it is a collector rather than a fixed set of gauges.
type proposalCollector struct{ mk *market.Machine }

var proposalsDesc = prometheus.NewDesc("agentchat_proposals", "Proposals this node holds, by state.", []string{"state"}, nil)

func (p proposalCollector) Describe(ch chan<- *prometheus.Desc) { ch <- proposalsDesc }

func (p proposalCollector) Collect(ch chan<- prometheus.Metric) {
	_, by, _ := p.mk.Stats()
	for state, n := range by {
		ch <- prometheus.MustNewConstMetric(proposalsDesc, prometheus.GaugeValue, float64(n), state)
	}
}
