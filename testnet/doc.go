// Package testnet starts agentchat nodes on this machine: one full node
// (data dir, libp2p host, bridge, websocket server) with StartNode, or N of
// them wired into one mesh with Start. It is the integration point of the
// project: `agentchat node` and `agentchat testnet` run nodes through it,
// and every multi-node test uses it.
//
// Each node it assembles has its own Prometheus registry (metrics.go: the
// node's, libp2p's, and the mesh, market and ledger series read from their
// Stats) served at GET /metrics, and the operator page (package ui) with
// its GET /api/status JSON (status.go).
package testnet
