package testnet

import (
	"fmt"
	"strings"
)

// Topology says which nodes of a local mesh dial which: the wiring an
// operator chooses by giving each node its --peer addresses.
type Topology string

const (
	// Full: every node dials every node started before it (the default).
	Full Topology = "full"
	// Line: node i dials node i-1 only, so node 0 and node N-1 are N-1
	// hops apart.
	Line Topology = "line"
	// Star: every node dials node 0 only.
	Star Topology = "star"
)

// ParseTopology reads a topology name; the empty string is Full.
func ParseTopology(s string) (Topology, error) {
	switch t := Topology(s); t {
	case "":
		return Full, nil
	case Full, Line, Star:
		return t, nil
	}
	return "", fmt.Errorf("unknown topology %q (want full, line or star)", s)
}

// Dials returns the nodes started before node i that node i dials.
func (t Topology) Dials(i int) []int {
	switch t {
	case Line:
		if i > 0 {
			return []int{i - 1}
		}
		return nil
	case Star:
		if i > 0 {
			return []int{0}
		}
		return nil
	}
	out := make([]int, i)
	for j := range out {
		out[j] = j
	}
	return out
}

// Neighbours returns every node of an n-node mesh that node i is wired
// to, in either direction: whom it dials again when it restarts.
func (t Topology) Neighbours(i, n int) []int {
	var out []int
	for j := range n {
		if j == i {
			continue
		}
		if t.dialsEither(i, j) {
			out = append(out, j)
		}
	}
	return out
}

func (t Topology) dialsEither(i, j int) bool {
	lo, hi := min(i, j), max(i, j)
	for _, d := range t.Dials(hi) {
		if d == lo {
			return true
		}
	}
	return false
}

// OnlyWired puts a node behind a firewall that lets through only the
// nodes it dials (cfg.P2P.Peers, filled in before Tune runs): use it from
// Tune on a node no other node dials, such as the last of a line or a
// spoke of a star. Other nodes learn its addresses from the mesh but
// cannot dial it, nor it them, so every request between it and them is
// routed through the mesh.
func OnlyWired(cfg *NodeConfig) {
	allowed := map[string]bool{}
	for _, addr := range cfg.P2P.Peers {
		if i := strings.LastIndex(addr, "/p2p/"); i >= 0 {
			allowed[addr[i+len("/p2p/"):]] = true
		}
	}
	cfg.P2P.Deny = func(peer string) bool { return !allowed[peer] }
}
