package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/testnet"
)

func testnetCommand() *cli.Command {
	return &cli.Command{
		Name:  "testnet",
		Usage: "run a local mesh of N nodes on this machine until Ctrl-C",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "nodes", Value: 3, Usage: "number of nodes"},
			&cli.StringFlag{Name: "topology", Value: "full", Usage: "which nodes dial which: full (each dials every earlier node), line (node i dials node i-1 only) or star (every node dials node 0 only)"},
			&cli.StringFlag{Name: "dir", Usage: "parent `DIR` of the nodes' data dirs (default: a new temporary dir)"},
			&cli.IntFlag{Name: "base-port", Usage: "node i listens on BASE+i (websocket) and BASE+100+i (libp2p); default: free ports"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object describing the mesh as the last line once it is ready"},
			&cli.BoolFlag{Name: "procs", Usage: "run each node as a separate `agentchat node` process"},
			&cli.BoolFlag{Name: "no-rate-limits", Usage: "turn the nodes' rate limits off"},
		},
		Action: runTestnet,
	}
}

// meshNode is one node in the --json summary; scripts rely on this shape.
type meshNode struct {
	WS     string   `json:"ws"`
	HTTP   string   `json:"http"`
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
}

func runTestnet(c *cli.Context) error {
	log, err := newLogger(c)
	if err != nil {
		return err
	}
	routeLibp2pLogs(log.Handler())
	dir := c.String("dir")
	if dir == "" {
		if dir, err = os.MkdirTemp("", "agentchat-testnet-"); err != nil {
			return err
		}
	}
	top, err := testnet.ParseTopology(c.String("topology"))
	if err != nil {
		return err
	}
	if c.Bool("procs") {
		return runTestnetProcs(c, dir, top)
	}
	progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "testnet: "+format+"\n", args...) }
	noLimits := c.Bool("no-rate-limits")
	net, err := testnet.Start(c.Context, testnet.Options{
		Nodes: c.Int("nodes"), Dir: dir, BasePort: c.Int("base-port"), Topology: top, Logger: log, Progress: progress,
		Tune: func(_ int, cfg *testnet.NodeConfig) { cfg.Node.RateLimits = !noLimits },
	})
	if err != nil {
		return err
	}
	nodes := make([]meshNode, len(net.Nodes))
	for i, n := range net.Nodes {
		nodes[i] = meshNode{WS: n.WS(), HTTP: n.HTTP(), PeerID: n.Host.ID(), Addrs: n.Host.Addrs()}
	}
	printMesh(c, nodes, filepath.Clean(dir))
	<-c.Context.Done()
	progress("shutting down %d nodes", len(net.Nodes))
	return net.Close()
}

// printMesh prints the table of nodes, and with --json the summary line.
func printMesh(c *cli.Context, nodes []meshNode, dir string) {
	out := c.App.Writer
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tWEBSOCKET\tPEER ID\tMULTIADDR")
	for i, n := range nodes {
		addr := ""
		if len(n.Addrs) > 0 {
			addr = n.Addrs[0]
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", i, n.WS, n.PeerID, addr)
	}
	w.Flush()
	fmt.Fprintf(out, "data dirs under %s; Ctrl-C stops the mesh\n", dir)
	if c.Bool("json") {
		b, _ := json.Marshal(map[string]any{"nodes": nodes})
		fmt.Fprintln(out, string(b))
	}
}
