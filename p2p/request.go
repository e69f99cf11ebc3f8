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
// ErrRemote with the error's text.
func (h *Host) HandleRequest(proto string, fn func(ctx context.Context, peer string, req []byte) ([]byte, error)) {
	h.host.SetStreamHandler(protocol.ID(proto), func(s network.Stream) {
		h.serveRequest(s, fn)
	})
}

// serveRequest answers one request stream.
func (h *Host) serveRequest(s network.Stream, fn func(context.Context, string, []byte) ([]byte, error)) {
	from := s.Conn().RemotePeer().String()
	log := h.log.With("peer", from, "op", string(s.Protocol()))
	_ = s.SetDeadline(time.Now().Add(h.cfg.RequestTimeout))
	req, err := readFrame(bufio.NewReader(s), h.cfg.MaxMessageSize)
	if err != nil {
		log.Debug("read request", "err", err)
		_ = s.Reset()
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.RequestTimeout)
	resp, err := fn(ctx, from, req)
	cancel()
	status := statusOK
	switch {
	case err != nil:
		status, resp = statusError, []byte(truncate(err.Error(), maxErrorText))
	case len(resp) > h.cfg.MaxMessageSize:
		log.Warn("request handler response too large", "size", len(resp), "max", h.cfg.MaxMessageSize)
		status, resp = statusTooLarge, fmt.Appendf(nil, "response of %d bytes exceeds %d", len(resp), h.cfg.MaxMessageSize)
	}
	if err := writeFrame(s, status, resp); err != nil {
		log.Debug("write response", "err", err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// Request sends req to peer on proto and returns the response. It fails with
// ErrTooLarge when req or the response exceeds Config.MaxMessageSize, with
// ErrRemote when the handler returned an error, and with ctx's error when
// ctx ends first. The exchange is bounded by Config.RequestTimeout.
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
	s, err := h.host.NewStream(ctx, pid, protocol.ID(proto))
	if err != nil {
		return nil, fail(err)
	}
	// Reading does not watch ctx; resetting the stream unblocks it.
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	if err := writeRequest(s, req); err != nil {
		_ = s.Reset()
		return nil, fail(err)
	}
	frame, err := readFrame(bufio.NewReader(s), h.cfg.MaxMessageSize+1)
	if err != nil {
		_ = s.Reset()
		return nil, fail(err)
	}
	_ = s.Close()
	if len(frame) == 0 {
		return nil, fail(errors.New("empty response frame"))
	}
	switch body := frame[1:]; frame[0] {
	case statusOK:
		return body, nil
	case statusError:
		return nil, fmt.Errorf("request %s to %s: %w: %s", proto, peer, ErrRemote, body)
	case statusTooLarge:
		return nil, fmt.Errorf("request %s to %s: %w: remote: %s", proto, peer, ErrTooLarge, body)
	default:
		return nil, fail(fmt.Errorf("unknown response status %d", frame[0]))
	}
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
