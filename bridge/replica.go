package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/agentchat/mesh/p2p"
)

// Replica is a set of signed records the mesh keeps identical on every node:
// settled receipts, skill registrations. The bridge moves records as opaque
// bytes; the owner verifies them, so a node cannot plant a record it could
// not have signed. Adding a record twice is a no-op.
type Replica interface {
	// Check verifies one encoded record; an error rejects it, and the peer
	// that sent it is scored down.
	Check(raw []byte) error
	// IDs lists the records held.
	IDs() []string
	// Get returns the encoded records with these IDs; unknown IDs are
	// skipped.
	Get(ctx context.Context, ids []string) [][]byte
	// Add verifies and stores records and returns how many were new.
	Add(ctx context.Context, raws [][]byte) (int, error)
}

// pullBatch bounds one record request.
const pullBatch = 256

type replica struct {
	name  string
	set   Replica
	topic *p2p.Topic
}

func replicaTopic(name string) string   { return "agentchat/1/set/" + name }
func replicaDigest(name string) string  { return "/agentchat/set/" + name + "/digest/1" }
func replicaRecords(name string) string { return "/agentchat/set/" + name + "/get/1" }

// Replicate keeps set in sync across the mesh under name: new records are
// gossiped (Announce), and whenever a peer connects, and periodically, the
// two nodes compare digests and pull what they miss. Call before Run.
func (b *Bridge) Replicate(name string, set Replica) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.replicas = append(b.replicas, &replica{name: name, set: set})
}

// Announce gossips a record this node just added to a replicated set.
func (b *Bridge) Announce(name string, raw []byte) {
	b.mu.Lock()
	var t *p2p.Topic
	for _, r := range b.replicas {
		if r.name == name {
			t = r.topic
		}
	}
	b.mu.Unlock()
	if t == nil {
		return // not running yet: reconciliation will carry it
	}
	if err := t.Publish(b.pubCtx, raw); err != nil && b.pubCtx.Err() == nil {
		b.log.Warn("announce record", "set", name, "err", err)
	}
}

// startReplicas joins each set's topic and serves its digest and records.
func (b *Bridge) startReplicas() error {
	b.mu.Lock()
	reps := slices.Clone(b.replicas)
	b.mu.Unlock()
	for _, r := range reps {
		set, name := r.set, r.name
		if err := b.host.SetValidator(replicaTopic(name), func(_ context.Context, from string, data []byte) p2p.Verdict {
			if err := set.Check(data); err != nil {
				b.reject(from, name, err)
				return p2p.Reject
			}
			return p2p.Accept
		}); err != nil {
			return fmt.Errorf("validator for %s: %w", name, err)
		}
		t, err := b.host.Join(replicaTopic(name))
		if err != nil {
			return fmt.Errorf("join %s: %w", name, err)
		}
		sub, err := t.Subscribe()
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", name, err)
		}
		b.mu.Lock()
		r.topic = t
		b.mu.Unlock()
		b.host.HandleRequest(replicaDigest(name), func(context.Context, string, []byte) ([]byte, error) {
			return json.Marshal(set.IDs())
		})
		b.host.HandleRequest(replicaRecords(name), func(ctx context.Context, _ string, req []byte) ([]byte, error) {
			var ids []string
			if err := json.Unmarshal(req, &ids); err != nil || len(ids) > pullBatch {
				return nil, fmt.Errorf("%w: record request", ErrMalformed)
			}
			return json.Marshal(set.Get(ctx, ids))
		})
		b.spawn(func() {
			defer sub.Cancel()
			for {
				msg, err := sub.Next(b.ctx)
				if err != nil {
					return
				}
				if msg.Local || msg.From == b.host.ID() {
					continue
				}
				if _, err := set.Add(b.ctx, [][]byte{msg.Data}); err != nil {
					b.log.Warn("add gossiped record", "set", name, "err", err)
				}
			}
		})
	}
	return nil
}

// reconcile compares every set with peer and pulls the records it lacks.
func (b *Bridge) reconcile(ctx context.Context, peer string) {
	b.mu.Lock()
	reps := slices.Clone(b.replicas)
	b.mu.Unlock()
	for _, r := range reps {
		n, err := b.pull(ctx, peer, r)
		if err != nil {
			b.log.Debug("reconcile", "set", r.name, "peer", short(peer), "err", err)
			continue
		}
		if n > 0 {
			b.log.Info("reconciled", "set", r.name, "peer", short(peer), "added", n)
		}
	}
}

func (b *Bridge) pull(ctx context.Context, peer string, r *replica) (int, error) {
	resp, err := b.host.Request(ctx, peer, replicaDigest(r.name), nil)
	if err != nil {
		return 0, err
	}
	var theirs []string
	if err := json.Unmarshal(resp, &theirs); err != nil {
		return 0, fmt.Errorf("%w: digest", ErrMalformed)
	}
	have := map[string]bool{}
	for _, id := range r.set.IDs() {
		have[id] = true
	}
	var missing []string
	for _, id := range theirs {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	added := 0
	for len(missing) > 0 {
		batch := missing[:min(pullBatch, len(missing))]
		missing = missing[len(batch):]
		req, _ := json.Marshal(batch)
		resp, err := b.host.Request(ctx, peer, replicaRecords(r.name), req)
		if err != nil {
			return added, err
		}
		var raws [][]byte
		if err := json.Unmarshal(resp, &raws); err != nil {
			return added, fmt.Errorf("%w: records", ErrMalformed)
		}
		n, err := r.set.Add(ctx, raws)
		added += n
		if err != nil {
			b.reject(peer, r.name, err)
			return added, err
		}
	}
	return added, nil
}

// reconcileRandom heals partitions: one random peer per period.
func (b *Bridge) reconcileRandom() {
	peers := b.host.Peers()
	if len(peers) == 0 {
		return
	}
	peer := peers[rand.IntN(len(peers))]
	b.spawn(func() {
		ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
		defer cancel()
		b.reconcile(ctx, peer)
	})
}
