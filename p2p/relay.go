package p2p

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Hop-by-hop request routing. A Request to a node this host is not
// connected to is wrapped in a routed frame signed by this node
// (routeframe.go) and sent over protoRoute: first to the target itself,
// when an address of it is known, else (or when that fails) to the next
// hop (route.go). Each relay checks the signature, clamps and decrements
// the hop count, lowers the budget to what it has left and passes the
// frame on, trying the next candidate hop when one cannot pass it; it
// returns the answer it gets verbatim. A relay refuses a frame it is
// already passing on, which cuts a routing loop at its first turn. The
// target runs the handler registered for the inner protocol as if the
// origin had opened the stream itself (the handler's peer is the origin),
// once per request ID (replay.go), and signs its answer, so a relay can
// drop a request but cannot forge, alter or replay one, nor forge an
// answer.
//
// Relays forward over streams of their own connections: this works on any
// connected topology, including a line whose end nodes share no neighbour,
// which circuit relay v2 (one relay between two nodes that both reach it)
// cannot connect.

const protoRoute = "/agentchat/route/2"

// maxRouteHops bounds the relays a request passes through: the mesh's
// diameter. A relay clamps a frame's count to it.
const maxRouteHops = 16

// inflight is the set of routed requests a relay is passing on.
type inflight struct {
	mu   sync.Mutex
	keys map[routeKey]struct{}
}

// enter adds k, or reports that k is already being passed on.
func (f *inflight) enter(k routeKey) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, loop := f.keys[k]; loop {
		return false
	}
	if f.keys == nil {
		f.keys = map[routeKey]struct{}{}
	}
	f.keys[k] = struct{}{}
	return true
}

func (f *inflight) leave(k routeKey) {
	f.mu.Lock()
	delete(f.keys, k)
	f.mu.Unlock()
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
		return statusError, errorText(err.Error())
	}
	if r.Budget <= 0 {
		return statusError, errorText("the origin's time for the request is spent")
	}
	// The origin's budget, bounded by ours: nobody waits for an answer
	// after that.
	ctx, cancel := context.WithTimeout(h.ctx, min(h.cfg.RequestTimeout, r.Budget))
	defer cancel()
	if r.Target == h.host.ID() {
		return h.answerRouted(ctx, r)
	}
	hops := min(r.Hops, maxRouteHops)
	if hops == 0 {
		return statusError, errorText(fmt.Sprintf("hop limit reached at %s", h.host.ID()))
	}
	k := routeKey{r.Origin, r.ID}
	if !h.passing.enter(k) {
		return statusError, errorText(fmt.Sprintf("routing loop at %s", h.host.ID()))
	}
	defer h.passing.leave(k)
	status, body, err := h.forward(ctx, r.Target, from, raw, hops-1)
	if err != nil {
		return statusError, errorText(fmt.Sprintf("relay %s: %v", h.host.ID(), err))
	}
	h.relayed.Add(1)
	h.log.Debug("relayed request", "origin", r.Origin.String(), "target", r.Target.String())
	return status, body
}

// forward passes the routed frame raw toward target with hops left,
// trying each next hop (but from) in turn until one returns an answer;
// the budget in the frame is what ctx leaves. It returns the first
// answer, or the last hop's error.
func (h *Host) forward(ctx context.Context, target, from peer.ID, raw []byte, hops byte) (byte, []byte, error) {
	next := h.nextHops(target, from)
	if len(next) == 0 {
		return 0, nil, fmt.Errorf("no route to %s", target)
	}
	var failed error // every hop's failure, on one line
	for _, p := range next {
		if ctx.Err() != nil {
			break
		}
		d, _ := ctx.Deadline()
		setRouting(raw, hops, time.Until(d))
		status, body, err := h.exchange(ctx, p, protoRoute, raw, h.cfg.MaxMessageSize+1+routeOverhead)
		if err == nil && status == statusOK {
			return status, body, nil
		}
		if err == nil {
			err = errors.New(remoteText(body))
		}
		failed = joinFailure(failed, fmt.Errorf("via %s: %w", p, err))
	}
	if ctx.Err() != nil {
		failed = joinFailure(failed, ctx.Err())
	}
	return 0, nil, failed
}

// joinFailure appends err to the failures so far, if any, separated by a
// semicolon; both stay matchable with errors.Is.
func joinFailure(failed, err error) error {
	if failed == nil {
		return err
	}
	return fmt.Errorf("%w; %w", failed, err)
}

// answerRouted runs the handler for a routed request addressed here, once
// per request ID, and signs its answer.
func (h *Host) answerRouted(ctx context.Context, r *routedRequest) (byte, []byte) {
	h.mu.Lock()
	fn := h.handlers[r.Proto]
	h.mu.Unlock()
	if fn == nil {
		return statusOK, encodeRouteResp(h.cfg.Key, r.ID, statusError, errorText("no handler for "+r.Proto))
	}
	k := routeKey{r.Origin, r.ID}
	a, fresh, err := h.replays.admit(k, r.Time, time.Now())
	if err == nil && !fresh {
		var reply []byte
		if reply, err = h.replays.wait(ctx, a); err == nil {
			return statusOK, reply
		}
	}
	if err != nil {
		h.log.Warn("refused routed request", "origin", r.Origin.String(), "err", err)
		return statusError, errorText(err.Error())
	}
	status, body := h.runHandler(ctx, fn, r.Origin.String(), r.Proto, r.Payload)
	reply := encodeRouteResp(h.cfg.Key, r.ID, status, body)
	// The origin may try again (another path) while it waits.
	d, _ := ctx.Deadline()
	h.replays.finish(k, a, reply, d)
	return statusOK, reply
}

// newRouted builds the signed routed frame of a request for proto to
// target.
func (h *Host) newRouted(target peer.ID, proto string, req []byte) *routedRequest {
	r := &routedRequest{Hops: maxRouteHops, Origin: h.host.ID(), Target: target, Proto: proto,
		Time: time.Now().UnixNano(), Payload: req}
	_, _ = rand.Read(r.ID[:])
	r.sign(h.cfg.Key)
	return r
}

// requestRouted sends the routed frame raw of request r through the next
// hops and returns the target's verified status and body.
func (h *Host) requestRouted(ctx context.Context, r *routedRequest, raw []byte) (byte, []byte, error) {
	if len(h.nextHops(r.Target, "")) == 0 {
		return 0, nil, fmt.Errorf("%w: no connected peer leads to it", ErrNoRoute)
	}
	h.routed.Add(1)
	_, body, err := h.forward(ctx, r.Target, "", raw, maxRouteHops)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrNoRoute, err)
	}
	return decodeRouteResp(r.Target, r.ID, body)
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
