package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
)

// peerNode is what this node knows of another node's roster.
type peerNode struct {
	epoch    int64
	seq      uint64
	lastSeen time.Time
	agents   map[string]bool
	syncing  bool
}

// validateRoster is the roster topic's validator: every agent a node
// announces must carry a proof binding it to that node.
func (b *Bridge) validateRoster(_ context.Context, from string, data []byte) p2p.Verdict {
	var env rosterEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		b.reject(from, "roster", err)
		return p2p.Reject
	}
	agents := env.Agents
	if env.Agent != nil {
		agents = append(agents, *env.Agent)
	}
	for i := range agents {
		if err := b.verifyCached(from, &agents[i]); err != nil {
			b.reject(from, "roster", err)
			return p2p.Reject
		}
	}
	return p2p.Accept
}

func (b *Bridge) reject(from, topic string, err error) {
	b.count(func(s *Stats) { s.Rejected++ })
	b.log.Warn("rejected mesh message", "peer", short(from), "topic", topic, "err", err)
}

// readRoster applies roster envelopes from other nodes until the
// subscription ends.
func (b *Bridge) readRoster(sub *p2p.Subscription) {
	for {
		msg, err := sub.Next(b.ctx)
		if err != nil {
			return
		}
		if msg.Local || msg.From == b.host.ID() {
			continue
		}
		var env rosterEnvelope
		if json.Unmarshal(msg.Data, &env) != nil {
			continue // the validator already rejected it
		}
		b.applyRoster(msg.From, env)
	}
}

func (b *Bridge) applyRoster(from string, env rosterEnvelope) {
	b.mu.Lock()
	n := b.nodes[from]
	if n == nil || n.epoch != env.Epoch {
		if n != nil && env.Epoch < n.epoch {
			b.mu.Unlock()
			return // a replay from an earlier boot
		}
		n = &peerNode{epoch: env.Epoch, agents: map[string]bool{}}
		b.nodes[from] = n
	}
	n.lastSeen = time.Now()
	gap := env.Kind != kindBye && (env.Seq > n.seq+1 || (env.Kind == kindBeat && env.Seq > n.seq))
	// Gossip may reorder: a delta at or below the node's sequence was
	// applied already, and a snapshot older than it would undo newer deltas.
	if env.Kind != kindBeat && env.Kind != kindBye &&
		(env.Seq < n.seq || (env.Seq == n.seq && env.Kind != kindSnapshot)) {
		b.mu.Unlock()
		return
	}
	// A heartbeat older than what the node said since (gossip reorders,
	// or a peer replays) must not bring back addresses it stopped naming.
	freshBeat := env.Kind == kindBeat && env.Seq >= n.seq
	if env.Seq > n.seq {
		n.seq = env.Seq
	}
	if env.Kind == kindSnapshot {
		gap = false
	}
	needSync := gap && !n.syncing
	if needSync {
		n.syncing = true
	}
	b.mu.Unlock()

	switch env.Kind {
	case kindBeat:
		// from signed the heartbeat (gossipsub's strict signing), so its
		// addresses are its own word; p2p keeps the dialable ones. Debug,
		// not Warn: an address of a transport this build does not know (a
		// newer node's), or a private one, is skipped without misbehaviour.
		if !freshBeat {
			break
		}
		if err := b.host.AddAddrs(from, env.Addrs); err != nil {
			b.log.Debug("heartbeat addresses", "peer", short(from), "err", err)
		}
	case kindBye:
		b.mu.Lock()
		delete(b.nodes, from)
		b.mu.Unlock()
		b.log.Info("node left the mesh", "peer", short(from))
		b.srv.RemoveNode(from)
		return
	case kindUp:
		b.upsert(from, *env.Agent)
	case kindDown:
		b.srv.RemoveRemote(env.ID, from)
		b.mu.Lock()
		delete(n.agents, env.ID)
		b.mu.Unlock()
	case kindChannel:
		for _, m := range env.Channels {
			b.srv.EnsureChannel(m)
		}
	case kindSnapshot:
		b.applySnapshot(from, env)
	}
	if needSync {
		b.syncGap(from)
	}
}

// maxGossipSyncs bounds the roster fetches that gaps seen on the roster
// topic start at once. Keys cost nothing, so a flood of new origins, each
// a gap, would otherwise start a fetch (a dial, or a routed request) per
// origin.
const maxGossipSyncs = 4

// syncGap fetches from's roster after a gap in its sequence, if a slot is
// free; else it is counted and left to from's next snapshot. The caller
// has set from's syncing.
func (b *Bridge) syncGap(from string) {
	select {
	case b.syncs <- struct{}{}:
	default:
		b.mu.Lock()
		if n := b.nodes[from]; n != nil {
			n.syncing = false
		}
		b.stats.SyncsDeferred++
		b.mu.Unlock()
		b.log.Debug("roster sync deferred to the next snapshot", "peer", short(from), "running", maxGossipSyncs)
		return
	}
	b.spawn(func() {
		defer func() { <-b.syncs }()
		b.syncFrom(from)
	})
}

// upsert records one remote agent; a refused claim is logged, and a claim
// older than our own session of the same agent makes us re-announce ours so
// its old node displaces itself.
func (b *Bridge) upsert(from string, a agentWire) {
	err := b.srv.UpsertRemote(node.RemoteAgent{Record: a.record(), Node: from, Channels: a.Channels})
	switch {
	case errors.Is(err, node.ErrIDConflict):
		b.count(func(s *Stats) { s.Rejected++ })
		b.log.Warn("refused conflicting agent ID", "agent", a.ID, "peer", short(from))
		return
	case errors.Is(err, node.ErrStaleSession):
		// Our own session of this agent is newer: announce it again so the
		// old node displaces its session. A stale claim between two other
		// nodes is simply ignored.
		if _, local := b.srv.LocalAgent(a.ID); local {
			b.out.push(node.Event{Kind: node.EventAgentUpdated, Agent: node.AgentRecord{ID: a.ID}})
		}
		return
	case err != nil:
		b.log.Warn("remote agent", "agent", a.ID, "err", err)
		return
	}
	b.mu.Lock()
	if n := b.nodes[from]; n != nil {
		n.agents[a.ID] = true
	}
	b.mu.Unlock()
	b.relay(a.Channels)
}

// applySnapshot makes from's agents exactly those in env.
func (b *Bridge) applySnapshot(from string, env rosterEnvelope) {
	for _, m := range env.Channels {
		b.srv.EnsureChannel(m)
	}
	present := map[string]bool{}
	for _, a := range env.Agents {
		present[a.ID] = true
		b.upsert(from, a)
	}
	b.mu.Lock()
	n := b.nodes[from]
	var gone []string
	if n != nil {
		for id := range n.agents {
			if !present[id] {
				gone = append(gone, id)
				delete(n.agents, id)
			}
		}
	}
	b.mu.Unlock()
	for _, id := range gone {
		b.srv.RemoveRemote(id, from)
	}
}

// syncFrom fetches a node's whole roster after a gap in its deltas. If the
// node cannot be reached directly, its periodic snapshot on the topic will
// bring us up to date instead.
func (b *Bridge) syncFrom(peer string) {
	defer func() {
		b.mu.Lock()
		if n := b.nodes[peer]; n != nil {
			n.syncing = false
		}
		b.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
	defer cancel()
	b.fetchRoster(ctx, peer)
}

// fetchRoster fetches a node's whole roster and applies it, unless deltas
// newer than the answer arrived meanwhile. It reports whether the request
// itself failed (a stream reset, no route), not what the answer held.
func (b *Bridge) fetchRoster(ctx context.Context, peer string) (unreached bool) {
	resp, err := b.host.Request(ctx, peer, protoSnapshot, nil)
	if err != nil {
		b.log.Debug("roster sync", "peer", short(peer), "err", err)
		return true
	}
	var env rosterEnvelope
	if err := json.Unmarshal(resp, &env); err != nil {
		b.reject(peer, "roster sync", err)
		return false
	}
	for i := range env.Agents {
		if err := b.verifyCached(peer, &env.Agents[i]); err != nil {
			b.reject(peer, "roster sync", err)
			return false
		}
	}
	b.mu.Lock()
	n := b.nodes[peer]
	if n == nil || n.epoch != env.Epoch {
		n = &peerNode{epoch: env.Epoch, agents: map[string]bool{}}
		b.nodes[peer] = n
	}
	n.lastSeen = time.Now()
	if env.Seq < n.seq {
		b.mu.Unlock()
		return false // deltas newer than this answer arrived meanwhile
	}
	n.seq = env.Seq
	b.mu.Unlock()
	b.applySnapshot(peer, env)
	return false
}

// handleSnapshot answers a roster sync request with this node's roster.
func (b *Bridge) handleSnapshot(_ context.Context, _ string, _ []byte) ([]byte, error) {
	env := b.snapshot(kindSnapshot)
	b.mu.Lock()
	env.Epoch, env.Seq = b.epoch, b.seq
	b.mu.Unlock()
	return marshal(env)
}

// expireNodes drops nodes not heard from within NodeTTL, with their agents.
// A node still connected is not dropped on silence alone (its heartbeats
// may be stuck behind a loaded router): its roster is fetched instead, and
// a successful fetch counts as hearing from it; after three TTLs of silence
// it is dropped all the same.
func (b *Bridge) expireNodes(now time.Time) {
	connected := map[string]bool{}
	for _, p := range b.host.Peers() {
		connected[p] = true
	}
	var gone, stale []string
	b.mu.Lock()
	for id, n := range b.nodes {
		switch expiry(now.Sub(n.lastSeen), b.cfg.NodeTTL, connected[id]) {
		case refetch:
			if !n.syncing {
				n.syncing = true
				stale = append(stale, id)
			}
		case drop:
			gone = append(gone, id)
			delete(b.nodes, id)
		}
	}
	b.mu.Unlock()
	for _, id := range stale {
		b.log.Warn("connected node silent past its TTL; fetching its roster", "peer", short(id))
		b.spawn(func() { b.syncFrom(id) })
	}
	for _, id := range gone {
		b.log.Info("node left the mesh", "peer", short(id))
		b.srv.RemoveNode(id)
	}
}

type expiryAction int

const (
	keep    expiryAction = iota // heard from recently
	refetch                     // silent but connected: fetch its roster
	drop                        // gone: drop it with its agents
)

// expiry decides about a node silent for silent.
func expiry(silent, ttl time.Duration, connected bool) expiryAction {
	switch {
	case silent <= ttl:
		return keep
	case connected && silent <= 3*ttl:
		return refetch
	}
	return drop
}
