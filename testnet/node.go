package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/agentchat/mesh/bridge"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
)

// bansSet is the replicated set of operator ban records.
const bansSet = "bans"

var _ bridge.Replica = (*node.BanSet)(nil)

// NodeConfig is everything one full node needs.
type NodeConfig struct {
	DataDir string
	Node    node.Config // Key, Store, Federation, Market, HTTP, Revocations are filled in by StartNode
	P2P     p2p.Config  // Key is filled in
	Bridge  bridge.Config
	// Market's NodeKey, Store, Datastore, Hooks and Logger are filled in.
	Market market.Config
	// Webhooks are URLs that receive the escrow events (PROTOCOL.md §19).
	Webhooks []string
	Logger   *slog.Logger
}

// Node is one running full node.
type Node struct {
	Data   *node.DataDir
	Host   *p2p.Host
	Bridge *bridge.Bridge
	Server *node.Server
	Market *market.Machine
	Hooks  *ledger.Hooks
	// Metrics is the node's Prometheus registry, served at GET /metrics.
	Metrics *Metrics

	cancel context.CancelFunc
	done   chan struct{}
	errMu  sync.Mutex
	err    error
	once   sync.Once
}

// StartNode opens the data dir, starts the libp2p host, the bridge and the
// websocket server, and returns once the websocket listener is bound. The
// node runs until ctx ends or Close is called.
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	dd, err := node.OpenDataDir(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	metrics := newMetrics()
	cfg.P2P.Key, cfg.P2P.Logger, cfg.P2P.Metrics = dd.Key, log, metrics
	host, err := p2p.New(ctx, cfg.P2P)
	if err != nil {
		dd.Close()
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	cfg.Bridge.Logger = log
	cfg.Bridge.AlwaysServe = append(append([]string{}, cfg.Node.Channels...), cfg.Node.VerifiedOnlyChannels...)
	br := bridge.New(cfg.Bridge, host)
	metrics.registerMesh(host, br)
	// A revocation the market learns closes the live sessions of the key;
	// the server exists only after the market, hence the pointer.
	var srvRef atomic.Pointer[node.Server]
	closeRevoked := func() {
		if s := srvRef.Load(); s != nil {
			s.CloseRevoked()
		}
	}
	mk, hooks, hooksRun, err := startMarket(ctx, dd, cfg, br, log, closeRevoked, metrics)
	if err != nil {
		host.Close()
		dd.Close()
		return nil, err
	}
	cfg.Node.Key, cfg.Node.Store, cfg.Node.Logger, cfg.Node.Federation = dd.Key, dd.Store, log, br
	metrics.registerMarket(mk)
	cfg.Node.Market, cfg.Node.HTTP, cfg.Node.Revocations, cfg.Node.Metrics = marketAdapter{mk}, mk.Handler(), mk, metrics
	cfg.Node.HTTP.Handle("GET /metrics", metrics.Handler())
	cfg.Node.Mesh = func() any { return meshHealth(host, br) }
	cfg.Node.OnBan = func(raw []byte) { br.Announce(bansSet, raw) }
	srv, err := node.New(cfg.Node)
	if err == nil {
		srvRef.Store(srv)
		br.Bind(srv)
		br.Replicate(bansSet, srv.Bans())
		err = srv.Listen()
	}
	if err != nil {
		host.Close()
		dd.Close()
		return nil, err
	}
	// Shutdown runs in the order of STYLE.md §4: the websocket server stops
	// (agents get 1001, their departures reach the bridge's outbox), the
	// bridge flushes and tells the mesh it is leaving, the host closes, the
	// datastore closes last. Each stage has its own context.
	ctx, cancel := context.WithCancel(ctx)
	srvCtx, stopSrv := context.WithCancel(context.Background())
	brCtx, stopBr := context.WithCancel(context.Background())
	hostCtx, stopHost := context.WithCancel(context.Background())
	n := &Node{Data: dd, Host: host, Bridge: br, Server: srv, Market: mk, Hooks: hooks, Metrics: metrics, cancel: cancel, done: make(chan struct{})}
	n.serveOperator(cfg.Node.HTTP, cfg.Node.ServerName, cfg.Node.Version)
	stage := func(name string, f func() error) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := f(); err != nil && !errors.Is(err, context.Canceled) {
				n.setErr(fmt.Errorf("%s: %w", name, err))
				cancel() // a failed stage stops the whole node
			}
		}()
		return done
	}
	hostDone := stage("libp2p host", func() error { return host.Run(hostCtx) })
	brDone := stage("bridge", func() error { return br.Run(brCtx) })
	srvDone := stage("websocket server", func() error { return srv.Run(srvCtx) })
	mkDone := stage("market", func() error { return mk.Run(srvCtx, srv.Courier()) })
	hooksDone := stage("webhooks", func() error { return hooksRun(brCtx) })
	go func() {
		<-ctx.Done()
		stopSrv()
		<-srvDone
		<-mkDone
		stopBr()
		<-brDone
		<-hooksDone
		stopHost()
		<-hostDone
		if err := host.Close(); err != nil {
			log.Debug("close libp2p host", "err", err)
		}
		if err := dd.Close(); err != nil {
			n.setErr(fmt.Errorf("close data dir: %w", err))
		}
		close(n.done)
	}()
	return n, nil
}

func (n *Node) setErr(err error) {
	n.errMu.Lock()
	defer n.errMu.Unlock()
	if n.err == nil {
		n.err = err
	}
}

// Wait blocks until the node has stopped and returns why, nil after a
// clean shutdown.
func (n *Node) Wait() error {
	<-n.done
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.err
}

// Close shuts the node down (agents get 1001, the datastore closes last)
// and waits for it.
func (n *Node) Close() error {
	n.once.Do(n.cancel)
	return n.Wait()
}

// WS is the node's websocket URL.
func (n *Node) WS() string { return "ws://" + loopback(n.Server.Addr()) }

// HTTP is the node's HTTP URL (GET /health).
func (n *Node) HTTP() string { return "http://" + loopback(n.Server.Addr()) }

// loopback renders a listener address for a client on this machine.
func loopback(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP.IsUnspecified() {
		return fmt.Sprintf("127.0.0.1:%d", tcp.Port)
	}
	return tcp.String()
}

// MeshHealth is the /health "mesh" block of a federated node.
type MeshHealth struct {
	PeerID string       `json:"peer_id"`
	Addrs  []string     `json:"addrs"`
	Peers  int          `json:"peers"`
	Nodes  int          `json:"nodes"` // other nodes whose roster this node holds
	P2P    p2p.Stats    `json:"p2p"`
	Bridge bridge.Stats `json:"bridge"`
}

func meshHealth(h *p2p.Host, b *bridge.Bridge) MeshHealth {
	bs := b.Stats()
	return MeshHealth{PeerID: h.ID(), Addrs: h.Addrs(), Peers: len(h.Peers()), Nodes: bs.Nodes, P2P: h.Stats(), Bridge: bs}
}
