package p2p

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Hop-by-hop request routing. A Request to a node this host cannot open a
// stream to (no address known, the dial refused or timed out) is wrapped in
// a routed frame signed by this node and sent over protoRoute to the next
// hop (route.go); each relay checks the signature, decrements the hop
// count and passes the frame on, and returns the answer it gets verbatim.
// The target runs the handler registered for the inner protocol as if the
// origin had opened the stream itself (the handler's peer is the origin)
// and signs its answer, so a relay can drop a request but cannot forge,
// alter or replay one, nor forge an answer.
//
// Relays forward over streams of their own connections: this works on any
// connected topology, including a line whose end nodes share no neighbour,
// which circuit relay v2 (one relay between two nodes that both reach it)
// cannot connect.

const protoRoute = "/agentchat/route/1"

const (
	// maxRouteHops bounds the relays a request passes through: the mesh's
	// diameter, and the length of a transient routing loop.
	maxRouteHops = 16
	// routeWindow is how far a routed request's origin time may be from
	// the target's clock; the target remembers request IDs this long.
	routeWindow = 5 * time.Minute
	// maxReplayIDs bounds the IDs remembered within routeWindow; past it
	// routed requests are refused until old IDs expire.
	maxReplayIDs = 1 << 20
)

// replayGuard remembers the IDs of routed requests answered within
// routeWindow.
type replayGuard struct {
	mu        sync.Mutex
	seen      map[[16]byte]int64 // ID -> origin time
	lastPrune time.Time
}

// admit accepts a request ID once, if its origin time is within the window.
func (g *replayGuard) admit(id [16]byte, at int64, now time.Time) error {
	if d := now.Sub(time.Unix(0, at)); d > routeWindow || d < -routeWindow {
		return fmt.Errorf("request time %s off this node's clock", d.Round(time.Second))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[[16]byte]int64{}
	}
	if now.Sub(g.lastPrune) > routeWindow/4 {
		g.lastPrune = now
		oldest := now.Add(-routeWindow).UnixNano()
		for k, t := range g.seen {
			if t < oldest {
				delete(g.seen, k)
			}
		}
	}
	if _, dup := g.seen[id]; dup {
		return fmt.Errorf("request replayed")
	}
	if len(g.seen) >= maxReplayIDs {
		return fmt.Errorf("too many routed requests")
	}
	g.seen[id] = at
	return nil
}

// serveRoute answers one routed request stream: as its target, or as a
// relay toward it.
func (h *Host) serveRoute(s network.Stream) {
	from := s.Conn().RemotePeer()
	_ = s.SetDeadline(time.Now().Add(h.cfg.RequestTimeout))
	raw, err := readFrame(bufio.NewReader(s), h.cfg.MaxMessageSize+routeOverhead)
	if err != nil {
		h.log.Debug("read routed request", "peer", from.String(), "err", err)
		_ = s.Reset()
		return
	}
	status, body := h.route(from, raw)
	if err := writeFrame(s, status, body); err != nil {
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// route handles one routed frame received from neighbour from.
func (h *Host) route(from peer.ID, raw []byte) (byte, []byte) {
	r, err := decodeRouted(raw)
	if err == nil {
		err = r.verify()
	}
	if err != nil {
		h.log.Warn("refused routed request", "peer", from.String(), "err", err)
		return statusError, []byte(err.Error())
	}
	if r.Target == h.host.ID() {
		return h.answerRouted(r)
	}
	if r.Hops == 0 {
		return statusError, fmt.Appendf(nil, "hop limit reached at %s", h.host.ID())
	}
	next, ok := h.nextHop(r.Target, from)
	if !ok {
		return statusError, fmt.Appendf(nil, "%s has no route to %s", h.host.ID(), r.Target)
	}
	raw[1]-- // the hop count; the signature does not cover it
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.RequestTimeout)
	defer cancel()
	status, body, err := h.exchange(ctx, next, protoRoute, raw, h.cfg.MaxMessageSize+routeOverhead)
	if err != nil {
		return statusError, fmt.Appendf(nil, "relay %s to %s: %v", h.host.ID(), next, err)
	}
	h.relayed.Add(1)
	h.log.Debug("relayed request", "origin", r.Origin.String(), "target", r.Target.String(), "via", next.String())
	return status, body
}

// answerRouted runs the handler for a routed request addressed here and
// signs its answer.
func (h *Host) answerRouted(r *routedRequest) (byte, []byte) {
	if err := h.replays.admit(r.ID, r.Time, time.Now()); err != nil {
		h.log.Warn("refused routed request", "origin", r.Origin.String(), "err", err)
		return statusError, []byte(err.Error())
	}
	h.mu.Lock()
	fn := h.handlers[r.Proto]
	h.mu.Unlock()
	if fn == nil {
		return statusError, fmt.Appendf(nil, "no handler for %s", r.Proto)
	}
	status, body := h.runHandler(fn, r.Origin.String(), r.Proto, r.Payload)
	return statusOK, encodeRouteResp(h.cfg.Key, r.ID, status, body)
}

// requestRouted sends req for proto to target through the next hop and
// returns the target's verified status and body.
func (h *Host) requestRouted(ctx context.Context, target peer.ID, proto string, req []byte) (byte, []byte, error) {
	next, ok := h.nextHop(target, "")
	if !ok {
		return 0, nil, fmt.Errorf("%w: no connected peer leads to it", ErrNoRoute)
	}
	r := routedRequest{Hops: maxRouteHops, Origin: h.host.ID(), Target: target, Proto: proto,
		Time: time.Now().UnixNano(), Payload: req}
	_, _ = rand.Read(r.ID[:])
	r.sign(h.cfg.Key)
	h.routed.Add(1)
	status, body, err := h.exchange(ctx, next, protoRoute, r.encode(), h.cfg.MaxMessageSize+1+routeOverhead)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: via %s: %w", ErrNoRoute, next, err)
	}
	if status != statusOK {
		return 0, nil, fmt.Errorf("%w: via %s: %s", ErrNoRoute, next, body)
	}
	return decodeRouteResp(target, r.ID, body)
}

// exchange sends one request frame to p on proto and reads the response
// frame of at most limit bytes, bounded by ctx.
func (h *Host) exchange(ctx context.Context, p peer.ID, proto protocol.ID, req []byte, limit int) (byte, []byte, error) {
	s, err := h.host.NewStream(ctx, p, proto)
	if err != nil {
		return 0, nil, err
	}
	return roundTrip(ctx, s, req, limit)
}
