package testnet

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/agentchat/mesh/bridge"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
	"github.com/agentchat/mesh/ui"
)

// Status is GET /api/status, the operator page's one source: the node, its
// peers and the mesh's nodes, its agents and channels, the latest receipts
// and the top ratings, and the counters an operator watches (read from the
// node's Prometheus registry, so the page and /metrics never disagree).
type Status struct {
	Node struct {
		Name    string   `json:"name"`
		Version string   `json:"version"`
		PeerID  string   `json:"peer_id"`
		Addrs   []string `json:"addrs"`
	} `json:"node"`
	Peers []p2p.PeerInfo    `json:"peers"`
	Nodes []bridge.NodeInfo `json:"nodes"`
	node.Snapshot
	Receipts []receiptView        `json:"receipts"`
	Ratings  []ledger.AgentRating `json:"ratings"`
	// Counters holds the families in statusCounters by label value (""
	// for a family without labels).
	Counters map[string]map[string]float64 `json:"counters"`
	Time     time.Time                     `json:"time"`
}

type receiptView struct {
	ProposalID string `json:"proposal_id"`
	From       string `json:"from"`
	To         string `json:"to"`
	Outcome    string `json:"outcome"`
	SettledAt  int64  `json:"settled_at"`
}

// statusLimit bounds the receipts and ratings on the page.
const statusLimit = 10

// statusCounters are the families the page shows.
var statusCounters = map[string]bool{
	"agentchat_frames_in_total": true, "agentchat_frames_out_total": true,
	"agentchat_frames_dropped_total": true, "agentchat_closes_total": true,
	"agentchat_rate_limited_total": true, "agentchat_gossip_dropped_total": true,
	"agentchat_gossip_rejected_total": true, "agentchat_bridge_lost_total": true,
	"agentchat_bridge_delivered_total": true, "agentchat_bridge_published_total": true,
}

func (n *Node) status(name, version string) Status {
	var st Status
	st.Node.Name, st.Node.Version, st.Node.PeerID, st.Node.Addrs = name, version, n.Host.ID(), n.Host.Addrs()
	st.Peers, st.Nodes, st.Snapshot = n.Host.PeerInfos(), n.Bridge.Nodes(), n.Server.Snapshot()
	for _, r := range n.Market.RecentReceipts(statusLimit) {
		st.Receipts = append(st.Receipts, receiptView{ProposalID: r.ID(), From: r.Proposal.From, To: r.Proposal.To,
			Outcome: r.Outcome.Kind, SettledAt: r.Outcome.SettledAt})
	}
	st.Ratings = n.Market.TopRatings(statusLimit)
	st.Counters = map[string]map[string]float64{}
	fams, _ := n.Metrics.Gather() // our collectors do not fail; libp2p's partial errors still leave ours
	for _, f := range fams {
		if statusCounters[f.GetName()] {
			st.Counters[f.GetName()] = byLabel(f)
		}
	}
	st.Time = time.Now().UTC()
	return st
}

// byLabel sums a counter family by its label values.
func byLabel(f *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		vals := make([]string, 0, len(m.GetLabel()))
		for _, l := range m.GetLabel() {
			vals = append(vals, l.GetValue())
		}
		out[strings.Join(vals, ",")] += m.GetCounter().GetValue()
	}
	return out
}

// serveOperator adds the operator page (GET / and GET /ui) and its status
// JSON to mux; the websocket upgrade on any path is served before them.
func (n *Node) serveOperator(mux *http.ServeMux, name, version string) {
	mux.Handle("GET /{$}", ui.Handler())
	mux.Handle("GET /ui", ui.Handler())
	mux.HandleFunc("GET "+ui.StatusPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(n.status(name, version))
	})
}
