package transfer

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Accept accepts a waiting offer and receives it into dir: it sends
// accept, collects the chunks and the complete message (for at most
// ReceiveTimeout), joins the chunks in index order, checks the SHA-256
// against complete's (else the offer's), unpacks the archive and writes the
// files under dir (each name through SafeJoin), and acknowledges the
// transfer to the sender: ok:true, or ok:false with the reason ("hash
// mismatch", "unsafe path: …", …). Nothing is written unless every check
// passed (see the package doc). The Result always names the transfer.
func (r *Receiver) Accept(ctx context.Context, tid, dir string) (*Result, error) {
	select {
	case <-r.stopped:
		return &Result{TID: tid}, fmt.Errorf("accept %s: %w", tid, ErrStopped)
	default:
	}
	now := time.Now()
	r.mu.Lock()
	o := r.offers[tid]
	if o != nil && now.Sub(o.Received) > r.cfg.OfferTTL {
		delete(r.offers, tid)
		o = nil
	}
	if o == nil {
		r.mu.Unlock()
		return &Result{TID: tid}, fmt.Errorf("accept %s: %w", tid, ErrUnknownOffer)
	}
	if len(r.active) >= r.cfg.MaxActive {
		r.mu.Unlock()
		return &Result{TID: tid, From: o.From}, fmt.Errorf("accept %s: %w", tid, ErrBusy)
	}
	delete(r.offers, tid)
	in := &incoming{offer: *o, chunks: make([]string, o.Chunks), have: make([]bool, o.Chunks),
		maxBytes: maxArchiveBytes(r.cfg.MaxTotalSize), done: make(chan struct{})}
	r.active[tid] = in
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.active, tid)
		r.mu.Unlock()
	}()

	res := &Result{TID: tid, From: o.From, Dir: dir}
	if abs, err := filepath.Abs(dir); err == nil {
		res.Dir = abs
	}
	log := r.log.With("tid", tid, "from", o.From)
	if err := sendDM(ctx, r.c, o.From, encodeFT(tidWire{FT: ftAccept, TID: tid})); err != nil {
		return res, fmt.Errorf("accept %s: %w", tid, err)
	}
	log.Info("offer accepted", "dir", res.Dir)

	t := time.NewTimer(r.cfg.ReceiveTimeout)
	defer t.Stop()
	select {
	case <-in.done:
	case <-t.C:
		return res, r.fail(ctx, in, ackTimeout, fmt.Errorf("%w: transfer %s incomplete after %s", ErrTimeout, tid, r.cfg.ReceiveTimeout))
	case <-ctx.Done():
		return res, ctx.Err()
	case <-r.stopped:
		return res, ErrStopped
	}

	r.mu.Lock()
	chunks, expect, tooLarge := in.chunks, in.sha256, in.err
	in.chunks = nil
	r.mu.Unlock()
	if tooLarge != nil {
		return res, r.fail(ctx, in, ackTooLarge, tooLarge)
	}
	archive := joinSurrogates(strings.Join(chunks, ""))
	if expect == "" {
		expect = o.SHA256
	}
	res.SHA256 = archiveSHA256(archive)
	if res.SHA256 != expect {
		return res, r.fail(ctx, in, ackHashMismatch, fmt.Errorf("transfer %s: %w: got %s, want %s", tid, ErrHashMismatch, res.SHA256, expect))
	}
	files, err := Unpack(archive)
	if err != nil {
		return res, r.fail(ctx, in, ackBadArchive, err)
	}
	var total int64
	for _, f := range files {
		total += int64(len(f.Data))
	}
	if total > r.cfg.MaxTotalSize {
		return res, r.fail(ctx, in, ackTooLarge, fmt.Errorf("%w: files hold %d bytes", ErrTooLarge, total))
	}
	plan, err := planFiles(dir, files)
	if err != nil {
		return res, r.fail(ctx, in, ackUnsafePath, err)
	}
	if err := writeFiles(dir, plan); err != nil {
		return res, r.fail(ctx, in, ackWriteFailed, err)
	}
	for _, pf := range plan {
		res.Files = append(res.Files, ReceivedFile{Name: pf.name, Path: pf.path, Size: int64(len(pf.data))})
		res.Size += int64(len(pf.data))
	}
	if err := sendDM(ctx, r.c, o.From, encodeFT(ackWire{FT: ftAck, TID: tid, OK: true})); err != nil {
		log.Warn("ack not sent", "err", err)
	}
	log.Info("transfer received", "files", len(res.Files), "size", res.Size)
	return res, nil
}

// fail acknowledges a failed transfer with ok:false and returns err.
func (r *Receiver) fail(ctx context.Context, in *incoming, reason string, err error) error {
	if reason == ackUnsafePath {
		reason = err.Error() // "unsafe path: <name>: <why>"
		if len(reason) > 200 {
			reason = strings.ToValidUTF8(reason[:200], "")
		}
	}
	r.log.Warn("transfer failed", "tid", in.offer.TID, "from", in.offer.From, "err", err)
	if ackErr := sendDM(ctx, r.c, in.offer.From, encodeFT(ackWire{FT: ftAck, TID: in.offer.TID, Error: reason})); ackErr != nil {
		r.log.Warn("ack not sent", "tid", in.offer.TID, "err", ackErr)
	}
	return err
}

// maxArchiveBytes bounds an archive for files of at most limit bytes:
// base64 in 76-character lines (×4/3 ×77/76) plus headers.
func maxArchiveBytes(limit int64) int {
	return int(limit/3*4*77/76 + 1<<20)
}
