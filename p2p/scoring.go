package p2p

import (
	"net"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Peer scoring. The weights are chosen for a chat mesh, where a topic can be
// quiet for hours:
//
//   - P1 (time in mesh) and P2 (first deliveries) reward steady, useful peers
//     a little: together at most ~20 per topic, capped at 50 over all topics.
//   - P3 (mesh delivery deficit) is off: a quiet channel would punish honest
//     peers for traffic that never existed.
//   - P4 (invalid messages) is strongly negative and quadratic: every message
//     our validator rejects costs the forwarding peer 100 * n^2, so three
//     rejects fall below the gossip threshold, four below the publish
//     threshold and five below the graylist threshold. It decays over an hour.
//   - P6 (IP colocation) penalises more than 10 peers on one IP, except on
//     loopback, where a testnet runs all its nodes by design.
//   - P7 (behaviour) penalises broken promises in gossip (IWANT not served).

const (
	invalidMessageWeight = -100.0
	scoreDecayInterval   = time.Second
	scoreDecayToZero     = 0.01
)

// scoreThresholds gates what we do with a peer by its score.
func scoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             -500,
		PublishThreshold:            -1000,
		GraylistThreshold:           -2500,
		AcceptPXThreshold:           1000,
		OpportunisticGraftThreshold: 3.5,
	}
}

// peerScoreParams returns the router-wide score parameters; topics are added
// by Join with topicScoreParams.
func peerScoreParams() *pubsub.PeerScoreParams {
	decay := func(d time.Duration) float64 {
		return pubsub.ScoreParameterDecayWithBase(d, scoreDecayInterval, scoreDecayToZero)
	}
	return &pubsub.PeerScoreParams{
		Topics:                      map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap:               50,
		AppSpecificScore:            func(peer.ID) float64 { return 0 },
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -50,
		IPColocationFactorThreshold: 10,
		IPColocationFactorWhitelist: loopbackNets(),
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       decay(10 * time.Minute),
		DecayInterval:               scoreDecayInterval,
		DecayToZero:                 scoreDecayToZero,
		RetainScore:                 10 * time.Minute,
	}
}

// topicScoreParams returns the per-topic parameters set on every joined topic.
func topicScoreParams() *pubsub.TopicScoreParams {
	decay := func(d time.Duration) float64 {
		return pubsub.ScoreParameterDecayWithBase(d, scoreDecayInterval, scoreDecayToZero)
	}
	return &pubsub.TopicScoreParams{
		TopicWeight: 1,

		TimeInMeshWeight:  10.0 / 3600, // reaches 10 after an hour in the mesh
		TimeInMeshQuantum: time.Second,
		TimeInMeshCap:     3600,

		FirstMessageDeliveriesWeight: 0.5,
		FirstMessageDeliveriesDecay:  decay(10 * time.Minute),
		FirstMessageDeliveriesCap:    20,

		InvalidMessageDeliveriesWeight: invalidMessageWeight,
		InvalidMessageDeliveriesDecay:  decay(time.Hour),
	}
}

// loopbackNets lists the address ranges exempt from the colocation penalty.
func loopbackNets() []*net.IPNet {
	var nets []*net.IPNet
	for _, s := range []string{"127.0.0.0/8", "::1/128"} {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			panic(err) // constant input
		}
		nets = append(nets, n)
	}
	return nets
}

// scoreBook keeps the latest snapshot the router hands to the score inspector.
type scoreBook struct {
	mu     sync.RWMutex
	scores map[peer.ID]float64 // replaced whole by inspect, never mutated
}

// inspect is the pubsub.PeerScoreInspectFn; it runs on the router's goroutine.
func (b *scoreBook) inspect(scores map[peer.ID]float64) {
	b.mu.Lock()
	b.scores = scores
	b.mu.Unlock()
}

// score returns p's score in the last snapshot, 0 when unknown.
func (b *scoreBook) score(p peer.ID) float64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.scores[p]
}

// PeerScore returns the GossipSub score of peer as of the last snapshot
// (taken every Config.Heartbeat). Unknown or unparsable peers score 0. A
// negative score means the peer misbehaved, e.g. forwarded messages our
// validator rejected.
func (h *Host) PeerScore(peer string) float64 {
	pid, err := decodePeer(peer)
	if err != nil {
		return 0
	}
	return h.scores.score(pid)
}
