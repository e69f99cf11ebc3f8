package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Request/response streams. One stream carries one exchange: the requester
// writes one frame and closes its write side; the handler answers with one
// frame and closes. A frame is a uvarint length followed by that many bytes.
// A request frame is the request itself; a response frame starts with a
// status byte (statusOK, statusError, statusTooLarge) followed by the
// response or by an error text. Payloads are bounded by
// Config.MaxMessageSize on both sides, and both sides set a deadline of
// Config.RequestTimeout on the stream.

const (
	statusOK       byte = 0 // the rest of the frame is the response
	statusError    byte = 1 // the rest is the handler's error text
	statusTooLarge byte = 2 // the handler's response exceeded its MaxMessageSize
)

// maxErrorText bounds the error text a handler sends back.
const maxErrorText = 1024

// HandleRequest serves proto (a libp2p protocol ID such as
// "/agentchat/dm/1") with fn, replacing any earlier handler. fn runs on the
// stream's goroutine with a context that ends after Config.RequestTimeout
// or when the Host closes; an error it returns reaches the requester as
// ErrRemote with the error's text. A request routed through other nodes
// (relay.go) reaches the same fn, with peer the node that sent it.
func (h *Host) HandleRequest(proto string, fn func(ctx context.Context, peer string, req []byte) ([]byte, error)) {
	h.mu.Lock()
	h.handlers[proto] = fn
	h.mu.Unlock()
	h.host.SetStreamHandler(protocol.ID(proto), func(s network.Stream) {
		h.serveRequest(s, fn)
	})
}

// serveRequest answers one request stream.
func (h *Host) serveRequest(s network.Stream, fn handler) {
	from := s.Conn().RemotePeer().String()
	_ = s.SetDeadline(time.Now().Add(h.cfg.RequestTimeout))
	req, err := readFrame(bufio.NewReader(s), h.cfg.MaxMessageSize)
	if err != nil {
		h.log.Debug("read request", "peer", from, "op", string(s.Protocol()), "err", err)
		_ = s.Reset()
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.RequestTimeout)
	status, resp := h.runHandler(ctx, fn, from, string(s.Protocol()), req)
	cancel()
	if err := writeFrame(s, status, resp); err != nil {
		h.log.Debug("write response", "peer", from, "op", string(s.Protocol()), "err", err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// handler is a request handler as HandleRequest takes it.
type handler = func(ctx context.Context, peer string, req []byte) ([]byte, error)

// runHandler runs fn under ctx for a request from peer and returns the
// response frame's status and body.
func (h *Host) runHandler(ctx context.Context, fn handler, from, proto string, req []byte) (byte, []byte) {
	resp, err := fn(ctx, from, req)
	switch {
	case err != nil:
		return statusError, errorText(err.Error())
	case len(resp) > h.cfg.MaxMessageSize:
		h.log.Warn("request handler response too large", "peer", from, "op", proto, "size", len(resp), "max", h.cfg.MaxMessageSize)
		return statusTooLarge, fmt.Appendf(nil, "response of %d bytes exceeds %d", len(resp), h.cfg.MaxMessageSize)
	}
	return statusOK, resp
}

// Request sends req to peer on proto and returns the response. A peer
// this host is connected to gets the request on a stream of its own. Any
// other peer gets it as a signed routed frame (relay.go): on a stream to
// the peer itself when an address of it is known and the dial succeeds,
// else, or when that stream fails, through connected nodes; the frame's ID
// makes the target run the handler once however many ways it arrives. It
// fails with ErrTooLarge when req or the response exceeds
// Config.MaxMessageSize, with ErrRemote when the handler returned an
// error, with ErrNoRoute when peer can be neither dialled nor reached
// through the mesh, and with ctx's error when ctx ends first. The exchange
// is bounded by Config.RequestTimeout.
func (h *Host) Request(ctx context.Context, peer, proto string, req []byte) ([]byte, error) {
	pid, err := decodePeer(peer)
	if err != nil {
		return nil, err
	}
	if len(req) > h.cfg.MaxMessageSize {
		return nil, fmt.Errorf("request %s to %s: %w: %d bytes", proto, peer, ErrTooLarge, len(req))
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.RequestTimeout)
	defer cancel()
	fail := func(err error) error {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("request %s to %s: %w", proto, peer, err)
	}
	status, body, err := h.direct(ctx, pid, protocol.ID(proto), req)
	if errors.Is(err, errNotDirect) && ctx.Err() == nil {
		var serr error
		if status, body, serr = h.requestSigned(ctx, pid, proto, req); serr != nil {
			err = fmt.Errorf("%w; %w", err, serr)
		} else {
			err = nil
		}
	}
	if err != nil {
		return nil, fail(err)
	}
	switch status {
	case statusOK:
		return body, nil
	case statusError:
		return nil, fmt.Errorf("request %s to %s: %w: %s", proto, peer, ErrRemote, remoteText(body))
	case statusTooLarge:
		return nil, fmt.Errorf("request %s to %s: %w: remote: %s", proto, peer, ErrTooLarge, remoteText(body))
	default:
		return nil, fail(fmt.Errorf("unknown response status %d", status))
	}
}

// errNotDirect marks a request that was not sent on a plain stream: it
// may go as a routed frame instead.
var errNotDirect = errors.New("not sent directly")

// direct sends req to p, if connected, over a stream of its own. It fails
// with errNotDirect when p is not connected or no stream could be opened;
// a stream that fails once the request is written is an error, since the
// handler may have run.
func (h *Host) direct(ctx context.Context, p peer.ID, proto protocol.ID, req []byte) (byte, []byte, error) {
	if h.host.Network().Connectedness(p) != network.Connected {
		return 0, nil, fmt.Errorf("%w: not connected", errNotDirect)
	}
	s, err := h.host.NewStream(ctx, p, proto)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", errNotDirect, err)
	}
	return roundTrip(ctx, s, req, h.cfg.MaxMessageSize+1)
}

// requestSigned sends req for proto to target, which is not connected, as
// one signed routed frame: to target itself if a stream to it opens
// (dialRouted), else through the mesh. The target answers the second
// attempt of a frame whose first one it answered from its cache.
func (h *Host) requestSigned(ctx context.Context, target peer.ID, proto string, req []byte) (byte, []byte, error) {
	r := h.newRouted(target, proto, req)
	raw := r.encode()
	status, body, err := h.dialRouted(ctx, r, raw)
	if errors.Is(err, errNotDirect) && ctx.Err() == nil {
		var rerr error
		if status, body, rerr = h.requestRouted(ctx, r, raw); rerr != nil {
			return 0, nil, fmt.Errorf("%w; routed: %w", err, rerr)
		}
		return status, body, nil
	}
	return status, body, err
}

// dialRouted sends the routed frame raw of request r on a stream to its
// target, dialling it. It fails with errNotDirect when no stream could be
// opened or the stream failed on the connection dialled for it (as when
// the target refuses us once the handshake names us): the frame may then
// go through the mesh. Such a target is not dialled again for directRetry
// while a route to it is known, unless it connects by itself. The dial
// gets a third of the budget, so a routed attempt has time left when it
// fails.
func (h *Host) dialRouted(ctx context.Context, r *routedRequest, raw []byte) (byte, []byte, error) {
	p := r.Target
	if h.routes.recentlyFailed(p, time.Now()) && len(h.nextHops(p, "")) > 0 {
		return 0, nil, fmt.Errorf("%w: dialled in vain recently", errNotDirect)
	}
	d, _ := ctx.Deadline()
	dctx, cancel := context.WithTimeout(ctx, time.Until(d)/3)
	defer cancel()
	s, err := h.host.NewStream(dctx, p, protoRoute)
	if err != nil {
		h.routes.directFailed(p, time.Now())
		return 0, nil, fmt.Errorf("%w: %w", errNotDirect, err)
	}
	setRouting(raw, maxRouteHops, time.Until(d))
	status, body, err := roundTrip(ctx, s, raw, h.cfg.MaxMessageSize+1+routeOverhead)
	if err != nil && ctx.Err() == nil {
		h.routes.directFailed(p, time.Now())
		return 0, nil, fmt.Errorf("%w: stream on a new connection: %w", errNotDirect, err)
	}
	if err != nil {
		return 0, nil, err
	}
	if status != statusOK {
		return 0, nil, fmt.Errorf("%w: refused: %s", ErrNoRoute, remoteText(body))
	}
	return decodeRouteResp(p, r.ID, body)
}

// roundTrip writes req on s, reads the response frame of at most limit
// bytes, and returns its status and body; s is closed or reset.
func roundTrip(ctx context.Context, s network.Stream, req []byte, limit int) (byte, []byte, error) {
	// Reading does not watch ctx; resetting the stream unblocks it.
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	if err := writeRequest(s, req); err != nil {
		_ = s.Reset()
		return 0, nil, err
	}
	frame, err := readFrame(bufio.NewReader(s), limit)
	if err != nil {
		_ = s.Reset()
		return 0, nil, err
	}
	_ = s.Close()
	if len(frame) == 0 {
		return 0, nil, errors.New("empty response frame")
	}
	return frame[0], frame[1:], nil
}

// writeRequest writes the request frame and closes the write side.
func writeRequest(s network.Stream, req []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(req)))
	if _, err := s.Write(hdr[:n]); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	if _, err := s.Write(req); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	// The request is whole once written. A server that has already
	// answered may have closed its side, which cancels our write side
	// (QUIC STOP_SENDING), so a failed CloseWrite does not fail the
	// request: reading the response decides.
	_ = s.CloseWrite()
	return nil
}

// writeFrame writes a response frame: length, status byte, body.
func writeFrame(w io.Writer, status byte, body []byte) error {
	bw := bufio.NewWriter(w)
	var hdr [binary.MaxVarintLen64 + 1]byte
	n := binary.PutUvarint(hdr[:], uint64(len(body)+1))
	hdr[n] = status
	if _, err := bw.Write(hdr[:n+1]); err != nil {
		return err
	}
	if _, err := bw.Write(body); err != nil {
		return err
	}
	return bw.Flush()
}

// readFrame reads one frame of at most limit bytes; a longer one fails with
// ErrTooLarge before its body is read. The buffer grows with the bytes
// that arrive, not with the length the peer claims.
func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("read frame length: %w", err)
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("%w: frame of %d bytes exceeds %d", ErrTooLarge, n, limit)
	}
	buf, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err == nil && uint64(len(buf)) < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("read frame: %w", err)
	}
	return buf, nil
}

// errorText is the body of a statusError frame: text cut to maxErrorText
// bytes.
func errorText(text string) []byte { return []byte(truncate(text, maxErrorText)) }

// remoteText is a peer's error body as text for an error of ours: valid
// UTF-8, at most maxErrorText bytes, whatever the peer sent.
func remoteText(body []byte) string {
	return truncate(strings.ToValidUTF8(string(body[:min(len(body), maxErrorText)]), "?"), maxErrorText)
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
