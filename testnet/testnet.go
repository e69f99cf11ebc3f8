package testnet

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/agentchat/mesh/bridge"
	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
)

// Options describes a local mesh.
type Options struct {
	// Nodes is how many nodes to start (at least 1).
	Nodes int
	// Dir holds one data dir per node (node-0, node-1, …).
	Dir string
	// BasePort, if set, gives node i the websocket port BasePort+i and the
	// libp2p port BasePort+100+i; otherwise every port is ephemeral.
	BasePort int
	// Topology says which nodes dial which; the zero value is Full.
	Topology Topology
	// Tune adjusts each node's configuration before it starts.
	Tune func(i int, cfg *NodeConfig)
	// Logger receives the nodes' logs; nil discards them.
	Logger *slog.Logger
	// Progress, if set, is told about each step while the mesh comes up.
	Progress func(format string, args ...any)
}

// Net is a running local mesh.
type Net struct {
	Nodes []*Node
	opts  Options
}

// LocalNodeConfig is the configuration of a loopback test node with the
// short timers of node.LocalConfig, p2p.LocalConfig and bridge.LocalConfig.
func LocalNodeConfig(dir string) NodeConfig {
	return NodeConfig{DataDir: dir, Node: node.LocalConfig(), P2P: p2p.LocalConfig(), Bridge: bridge.LocalConfig(),
		Market: market.Config{MinAge: market.DefaultMinAge}}
}

// Start brings up opts.Nodes nodes, each dialing the nodes its topology
// names, and returns when every node sees every other node on the mesh.
func Start(ctx context.Context, opts Options) (*Net, error) {
	if opts.Nodes < 1 {
		return nil, fmt.Errorf("testnet needs at least one node, not %d", opts.Nodes)
	}
	if opts.Topology == "" {
		opts.Topology = Full
	}
	if _, err := ParseTopology(string(opts.Topology)); err != nil {
		return nil, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	n := &Net{opts: opts}
	for i := range opts.Nodes {
		cfg := n.nodeConfig(i)
		nd, err := StartNode(ctx, cfg)
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		n.Nodes = append(n.Nodes, nd)
		progress("node %d/%d up: %s peer %s", i+1, opts.Nodes, nd.WS(), nd.Host.ID())
	}
	progress("waiting for the mesh to form (%s topology)", opts.Topology)
	if err := n.WaitMesh(ctx, 30*time.Second); err != nil {
		n.Close()
		return nil, err
	}
	progress("mesh ready: %d nodes", opts.Nodes)
	return n, nil
}

func (n *Net) nodeConfig(i int) NodeConfig {
	cfg := LocalNodeConfig(filepath.Join(n.opts.Dir, fmt.Sprintf("node-%d", i)))
	cfg.Logger = n.opts.Logger
	if n.opts.Logger != nil {
		cfg.Logger = n.opts.Logger.With("node", i)
	}
	if p := n.opts.BasePort; p > 0 {
		cfg.Node.Listen = fmt.Sprintf("127.0.0.1:%d", p+i)
		cfg.P2P.Listen = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p+100+i), fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", p+100+i)}
	}
	for _, j := range n.opts.Topology.Dials(i) {
		cfg.P2P.Peers = append(cfg.P2P.Peers, n.Nodes[j].Host.Addrs()...)
	}
	if n.opts.Tune != nil {
		n.opts.Tune(i, &cfg)
	}
	return cfg
}

// WaitMesh waits until every node is connected to its topology's
// neighbours and has heard every node's roster.
func (n *Net) WaitMesh(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ready := true
		for i, nd := range n.Nodes {
			wired := len(n.opts.Topology.Neighbours(i, len(n.Nodes)))
			if len(nd.Host.Peers()) < wired || nd.Bridge.Stats().Nodes < len(n.Nodes)-1 {
				ready = false
				break
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mesh of %d nodes did not form within %s", len(n.Nodes), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Restart starts node i again on its data dir (same key, same peer ID),
// after Kill or Close, dialing its topology's neighbours.
func (n *Net) Restart(ctx context.Context, i int) error {
	cfg := n.nodeConfig(i)
	cfg.P2P.Peers = nil
	for _, j := range n.opts.Topology.Neighbours(i, len(n.Nodes)) {
		cfg.P2P.Peers = append(cfg.P2P.Peers, n.Nodes[j].Host.Addrs()...)
	}
	nd, err := StartNode(ctx, cfg)
	if err != nil {
		return fmt.Errorf("restart node %d: %w", i, err)
	}
	n.Nodes[i] = nd
	return nil
}

// Close stops every node, last started first.
func (n *Net) Close() error {
	var first error
	for i := len(n.Nodes) - 1; i >= 0; i-- {
		if err := n.Nodes[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
