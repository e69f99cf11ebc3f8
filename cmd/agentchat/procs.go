package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
	"github.com/agentchat/mesh/testnet"
)

// runTestnetProcs runs the testnet with one `agentchat node` process per
// node. Each node's key is created first (by opening its data dir), so its
// peer ID is known before it starts and later nodes can dial it.
func runTestnetProcs(c *cli.Context, dir string, top testnet.Topology) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	n := c.Int("nodes")
	if n < 1 {
		return fmt.Errorf("--nodes must be at least 1")
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
		}
	}()
	nodes := make([]meshNode, 0, n)
	for i := range n {
		dataDir := filepath.Join(dir, fmt.Sprintf("node-%d", i))
		peerID, err := peerIDOf(c.Context, dataDir)
		if err != nil {
			return err
		}
		wsPort, p2pPort, err := ports(c.Int("base-port"), i)
		if err != nil {
			return err
		}
		addr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", p2pPort, peerID)
		args := []string{"--log-format", "json", "node", "--listen", fmt.Sprintf("127.0.0.1:%d", wsPort),
			"--data-dir", dataDir, "--p2p-listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p2pPort), "--local"}
		if c.Bool("no-rate-limits") {
			args = append(args, "--no-rate-limits")
		}
		for _, j := range top.Dials(i) {
			args = append(args, "--peer", nodes[j].Addrs[0])
		}
		cmd := exec.Command(self, args...)
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("node-%d.log", i)))
		if err != nil {
			return err
		}
		defer logFile.Close()
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start node %d: %w", i, err)
		}
		procs = append(procs, cmd)
		m := meshNode{WS: fmt.Sprintf("ws://127.0.0.1:%d", wsPort), HTTP: fmt.Sprintf("http://127.0.0.1:%d", wsPort),
			PeerID: peerID, Addrs: []string{addr}}
		if err := waitHealth(c.Context, m.HTTP, 0, 30*time.Second); err != nil {
			return fmt.Errorf("node %d (log: %s): %w", i, logFile.Name(), err)
		}
		fmt.Fprintf(os.Stderr, "testnet: node %d/%d up (pid %d): %s peer %s\n", i+1, n, cmd.Process.Pid, m.WS, peerID)
		nodes = append(nodes, m)
	}
	fmt.Fprintln(os.Stderr, "testnet: waiting for the mesh to form")
	for _, m := range nodes {
		if err := waitHealth(c.Context, m.HTTP, n-1, 30*time.Second); err != nil {
			return err
		}
	}
	printMesh(c, nodes, dir)
	<-c.Context.Done()
	fmt.Fprintf(os.Stderr, "testnet: stopping %d node processes\n", len(procs))
	return nil
}

// peerIDOf opens a node data dir (creating its key) and returns the peer ID.
func peerIDOf(ctx context.Context, dir string) (string, error) {
	dd, err := node.OpenDataDir(ctx, dir)
	if err != nil {
		return "", err
	}
	defer dd.Close()
	return p2p.PeerIDFromKey(dd.Key.Public().(ed25519.PublicKey))
}

// ports returns node i's websocket and libp2p ports.
func ports(base, i int) (int, int, error) {
	if base > 0 {
		return base + i, base + 100 + i, nil
	}
	var out [2]int
	for j := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		out[j] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	return out[0], out[1], nil
}

// waitHealth polls GET /health until the node answers and, when peers > 0,
// reports at least that many mesh nodes.
func waitHealth(ctx context.Context, base string, peers int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var h struct {
			Mesh struct {
				Nodes int `json:"nodes"`
			} `json:"mesh"`
		}
		resp, err := http.Get(base + "/health")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if err == nil && h.Mesh.Nodes >= peers {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s", base, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
