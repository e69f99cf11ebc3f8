package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

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
	status, resp := h.runHandler(fn, from, string(s.Protocol()), req)
	if err := writeFrame(s, status, resp); err != nil {
		h.log.Debug("write response", "peer", from, "op", string(s.Protocol()), "err", err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// handler is a request handler as HandleRequest takes it.
type handler = func(ctx context.Context, peer string, req []byte) ([]byte, error)

// runHandler runs fn for a request from peer and returns the response
// frame's status and body.
func (h *Host) runHandler(fn handler, from, proto string, req []byte) (byte, []byte) {
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.RequestTimeout)
	resp, err := fn(ctx, from, req)
	cancel()
	switch {
	case err != nil:
		return statusError, []byte(truncate(err.Error(), maxErrorText))
	case len(resp) > h.cfg.MaxMessageSize:
		h.log.Warn("request handler response too large", "peer", from, "op", proto, "size", len(resp), "max", h.cfg.MaxMessageSize)
		return statusTooLarge, fmt.Appendf(nil, "response of %d bytes exceeds %d", len(resp), h.cfg.MaxMessageSize)
	}
	return statusOK, resp
}

// Request sends req to peer on proto and returns the response. When no
// stream to peer can be opened (no address known, the dial refused or
// timed out), the request is routed through connected nodes instead
// (relay.go). It fails with ErrTooLarge when req or the response exceeds
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
		var rerr error
		if status, body, rerr = h.requestRouted(ctx, pid, proto, req); rerr != nil {
			err = fmt.Errorf("%w; routed: %w", err, rerr)
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
		return nil, fmt.Errorf("request %s to %s: %w: %s", proto, peer, ErrRemote, body)
	case statusTooLarge:
		return nil, fmt.Errorf("request %s to %s: %w: remote: %s", proto, peer, ErrTooLarge, body)
	default:
		return nil, fail(fmt.Errorf("unknown response status %d", status))
	}
}

// errNotDirect marks a direct attempt that did not reach p's handler:
// the request may go routed instead.
var errNotDirect = errors.New("not reachable directly")

// direct sends req to p over a stream of its own. It fails with
// errNotDirect when no stream could be opened, or when the stream failed
// on the connection it dialled (as when p refuses us once the handshake
// names us); the handler may then have run, so a routed retry delivers at
// least once.
// Such a peer is not dialled again for directRetry while a route to it is
// known, unless it connects by itself. Dialling a peer not yet connected
// gets a third of the budget, so a routed attempt has time left when the
// dial fails.
func (h *Host) direct(ctx context.Context, p peer.ID, proto protocol.ID, req []byte) (byte, []byte, error) {
	connected := h.host.Network().Connectedness(p) == network.Connected
	if !connected && h.routes.recentlyFailed(p, time.Now()) {
		if _, routed := h.nextHop(p, ""); routed {
			return 0, nil, fmt.Errorf("%w: dialled in vain recently", errNotDirect)
		}
	}
	dctx := ctx
	if d, ok := ctx.Deadline(); ok && !connected {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, time.Until(d)/3)
		defer cancel()
	}
	s, err := h.host.NewStream(dctx, p, proto)
	if err != nil {
		h.routes.directFailed(p, time.Now())
		return 0, nil, fmt.Errorf("%w: %w", errNotDirect, err)
	}
	status, body, err := roundTrip(ctx, s, req, h.cfg.MaxMessageSize+1)
	// The stream failed (a handler's error would be a status) on a
	// connection dialled for this request: p took us and dropped us, which
	// is how a node refuses once the handshake names the dialler (whether
	// the connection is already marked closed is a race). A connection that
	// was up before and breaks now more likely broke after the handler ran.
	if err != nil && !connected && ctx.Err() == nil {
		h.routes.directFailed(p, time.Now())
		return 0, nil, fmt.Errorf("%w: stream on a new connection: %w", errNotDirect, err)
	}
	return status, body, err
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
// ErrTooLarge before its body is read.
func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("read frame length: %w", err)
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("%w: frame of %d bytes exceeds %d", ErrTooLarge, n, limit)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read frame: %w", err)
	}
	return buf, nil
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
