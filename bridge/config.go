package bridge

import (
	"log/slog"
	"time"
)

// Config holds the bridge's settings.
type Config struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// AlwaysServe are the channels carried from the start (the node's
	// default channels); others are carried while a local agent is in them.
	AlwaysServe []string
	// Heartbeat is how often this node announces it is alive; a node not
	// heard from for NodeTTL is dropped with its agents.
	Heartbeat, NodeTTL time.Duration
	// SnapshotEvery republishes the whole roster so nodes that missed
	// deltas and cannot reach the origin directly still converge.
	SnapshotEvery time.Duration
	// ReorderWait is how long a message that arrived ahead of a gap waits
	// for the missing ones before the gap is declared lost (and counted).
	ReorderWait time.Duration
	// RequestTimeout bounds a DM, history or roster request to a peer.
	RequestTimeout time.Duration
	// PeerWait is how long a local channel message waits for a node
	// carrying its channel when none is subscribed yet but the roster says
	// another node hosts a member; after that it is counted as lost.
	PeerWait time.Duration
	// CarryGrace is how long a channel stays carried once this node has
	// no local member in it and knows of no member elsewhere (AlwaysServe
	// channels are carried for good); zero means DefaultConfig's.
	CarryGrace time.Duration
	// MaxRelayChannels caps the channels carried only because the roster
	// says agents on other nodes are in them: remote rosters cost nothing
	// to fill with channel names. Past it a remote member's channel is not
	// relayed (counted in Stats.RelayRefused, logged); zero means
	// DefaultConfig's.
	MaxRelayChannels int
}

// DefaultConfig returns settings for nodes on the internet.
func DefaultConfig() Config {
	return Config{
		Heartbeat:      5 * time.Second,
		NodeTTL:        20 * time.Second,
		SnapshotEvery:  30 * time.Second,
		ReorderWait:    5 * time.Second,
		RequestTimeout: 5 * time.Second,
		PeerWait:       2 * time.Second,
		CarryGrace:     time.Minute,
		// Far above the channels a real mesh has, far below what would
		// strain gossipsub (one topic each).
		MaxRelayChannels: 1000,
	}
}

// LocalConfig returns short timers for loopback testnets and tests.
func LocalConfig() Config {
	c := DefaultConfig()
	c.Heartbeat = 250 * time.Millisecond
	c.NodeTTL = 5 * time.Second // survives a CPU-starved test run
	c.SnapshotEvery = 2 * time.Second
	c.ReorderWait = 2 * time.Second
	c.RequestTimeout = 5 * time.Second // a megabyte file chunk under a loaded -race run
	c.CarryGrace = 2 * time.Second
	return c
}
