package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
)

// settleTime is how long a batch must stay unmodified before its last line,
// when it has no newline, counts as complete: a writer may still be
// finishing it.
const settleTime = time.Second

// rateLimitHold is how long the outbox waits after RATE_LIMITED: the node
// allows one MSG per second.
const rateLimitHold = DefaultMsgSpacing

// outbox delivers outbox.jsonl (see doc.go) and joins the configured
// channels. All its methods run on the outbox goroutine, which Run starts
// and waits for; it owns the outbox files and the fields below.
type outbox struct {
	d *Daemon
	// lastMsg is when the last MSG was written, for MsgSpacing.
	lastMsg time.Time
	// holdUntil defers the next MSG after RATE_LIMITED, so that retries
	// neither hammer the node nor use up the client's frame budget.
	holdUntil time.Time
	// refusals counts the node's refusals of the current head line.
	refusals int
	// pending are configured channels not joined yet.
	pending []string
	// rejoin is a channel the node said the daemon is not a member of (a
	// MSG can race the client's re-join after a reconnect): the next
	// attempt joins it first.
	rejoin string
}

// outcome is what became of one outbox line.
type outcome int

const (
	sent     outcome = iota // the node accepted it
	rejected                // it can never be sent; it is in outbox.rejected.jsonl
	later                   // try it again on a later pass
)

func newOutbox(d *Daemon) *outbox {
	return &outbox{d: d, pending: slices.Clone(d.cfg.Channels)}
}

func (o *outbox) path(name string) string { return filepath.Join(o.d.dir, name) }

// run joins the channels, then passes over the outbox every PollInterval
// while connected, until ctx ends.
func (o *outbox) run(ctx context.Context) {
	t := time.NewTicker(o.d.cfg.PollInterval)
	defer t.Stop()
	for {
		if o.d.connected.Load() {
			o.joinPending(ctx)
			if err := o.pass(ctx); err != nil {
				o.d.log.Error("outbox pass failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// joinPending joins the configured channels not joined yet. A channel the
// node refuses is logged once and dropped; one that fails otherwise (a
// timeout, a drop) is tried again on the next pass.
func (o *outbox) joinPending(ctx context.Context) {
	if len(o.pending) == 0 {
		return
	}
	var again []string
	for _, ch := range o.pending {
		if ctx.Err() != nil {
			again = append(again, ch)
			continue
		}
		err := o.join(ctx, ch)
		var se *client.ServerError
		switch {
		case err == nil:
			o.d.log.Info("joined", "channel", ch)
		case errors.As(err, &se):
			o.d.log.Warn("channel refused; skipped", "channel", ch, "err", err)
		default:
			o.d.log.Warn("join failed; will retry", "channel", ch, "err", err)
			again = append(again, ch)
		}
	}
	o.pending = again
	o.d.writeStatus()
}

// join joins a channel and records its replayed messages in the inbox.
func (o *outbox) join(ctx context.Context, ch string) error {
	res, err := o.d.cl.Join(ctx, ch)
	if err != nil {
		return err
	}
	for _, raw := range res.RawReplay {
		if err := o.d.in.record(protocol.TypeMsg, raw); err != nil {
			o.d.log.Error("inbox write failed", "type", protocol.TypeMsg, "err", err)
		}
	}
	return nil
}

// pass sends the pending batch, taking outbox.jsonl as the batch first if
// there is none. It stops at the first line that must wait.
func (o *outbox) pass(ctx context.Context) error {
	sending := o.path(sendingFile)
	if _, err := os.Stat(sending); isNotExist(err) {
		took, err := o.take()
		if err != nil || !took {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("outbox batch: %w", err)
	}
	for {
		st, err := os.Stat(sending)
		if err != nil {
			return fmt.Errorf("outbox batch: %w", err)
		}
		data, err := os.ReadFile(sending)
		if err != nil {
			return fmt.Errorf("outbox batch: %w", err)
		}
		off, err := o.readPos(len(data))
		if err != nil {
			return err
		}
		settled := time.Since(st.ModTime()) >= settleTime
		done, err := o.sendFrom(ctx, data, off, settled)
		if err != nil || !done {
			return err
		}
		// Everything read is delivered. A writer that opened outbox.jsonl
		// before the rename may have appended since: read again if so.
		if st2, err := os.Stat(sending); err == nil && st2.Size() > int64(len(data)) {
			continue
		}
		if err := os.Remove(sending); err != nil {
			return fmt.Errorf("outbox batch done: %w", err)
		}
		if err := os.Remove(o.path(posFile)); err != nil && !isNotExist(err) {
			return fmt.Errorf("outbox batch done: %w", err)
		}
		return nil
	}
}

// take renames a non-empty outbox.jsonl to the batch file. It reports
// whether there is a batch now.
func (o *outbox) take() (bool, error) {
	st, err := os.Stat(o.path(outboxFile))
	if isNotExist(err) || (err == nil && st.Size() == 0) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("outbox: %w", err)
	}
	// An offset file without a batch is left from a run that stopped right
	// after finishing one; it must not apply to the new batch.
	if err := os.Remove(o.path(posFile)); err != nil && !isNotExist(err) {
		return false, fmt.Errorf("outbox: %w", err)
	}
	if err := os.Rename(o.path(outboxFile), o.path(sendingFile)); err != nil {
		return false, fmt.Errorf("outbox: take batch: %w", err)
	}
	o.d.log.Debug("outbox batch taken", "size", st.Size())
	return true, nil
}

// readPos reads the batch offset; none means 0.
func (o *outbox) readPos(size int) (int, error) {
	b, err := os.ReadFile(o.path(posFile))
	if isNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox offset: %w", err)
	}
	off, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || off < 0 || off > size {
		// Never guess forward: resending is better than skipping.
		o.d.log.Warn("outbox offset unreadable; restarting the batch", "content", string(b))
		return 0, nil
	}
	return off, nil
}

// sendFrom delivers the lines of data from byte off. It reports done when
// it reached the end; an unterminated last line counts only once settled.
func (o *outbox) sendFrom(ctx context.Context, data []byte, off int, settled bool) (bool, error) {
	for off < len(data) {
		if ctx.Err() != nil || !o.d.connected.Load() {
			return false, nil
		}
		line, next := data[off:], len(data)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], off+i+1
		} else if !settled {
			return false, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			switch o.deliver(ctx, line) {
			case later:
				return false, nil
			case sent, rejected:
				o.refusals = 0
				if err := writeAtomic(o.path(posFile), []byte(strconv.Itoa(next))); err != nil {
					return false, fmt.Errorf("outbox offset: %w", err)
				}
			}
		}
		off = next
	}
	return true, nil
}

// outboxLine is one line of outbox.jsonl.
type outboxLine struct {
	To      *string `json:"to"`
	Content *string `json:"content"`
}

// deliver sends one line, or rejects it.
func (o *outbox) deliver(ctx context.Context, line []byte) outcome {
	var l outboxLine
	if err := json.Unmarshal(line, &l); err != nil {
		return o.reject(line, "invalid JSON: "+err.Error())
	}
	switch {
	case l.To == nil || *l.To == "":
		return o.reject(line, `missing "to"`)
	case l.Content == nil || *l.Content == "":
		return o.reject(line, `missing "content"`)
	case !strings.HasPrefix(*l.To, "#") && !strings.HasPrefix(*l.To, "@"):
		return o.reject(line, `"to" must be a #channel or an @agent`)
	}
	to, content := *l.To, *l.Content
	if strings.HasPrefix(to, "#") && (o.rejoin == to || !slices.Contains(o.d.cl.Channels(), to)) {
		if err := o.join(ctx, to); err != nil {
			return o.failed(line, "join "+to, err, true)
		}
		o.rejoin = ""
		o.d.log.Info("joined for the outbox", "channel", to)
		o.d.writeStatus()
	}
	if time.Now().Before(o.holdUntil) {
		return later
	}
	if wait := time.Until(o.lastMsg.Add(o.d.cfg.MsgSpacing)); o.d.cfg.MsgSpacing > 0 && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return later
		}
	}
	// The send outlives ctx by up to CallTimeout: abandoning it would leave
	// unknown whether the node took the line, and it would be sent again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.d.cfg.CallTimeout)
	defer cancel()
	o.lastMsg = time.Now()
	if err := o.d.cl.Send(sctx, to, content); err != nil {
		var se *client.ServerError
		if errors.As(err, &se) && se.Code == protocol.CodeNotInvited && strings.HasPrefix(to, "#") {
			o.rejoin = to
		}
		return o.failed(line, "send to "+to, err, false)
	}
	o.d.log.Debug("outbox line sent", "to", to, "size", len(content))
	return sent
}

// failed decides what a failed join or send means for the line. A JOIN
// refused with NOT_INVITED is final; a MSG refused so (not a member) is
// retried after joining again.
func (o *outbox) failed(line []byte, op string, err error, joining bool) outcome {
	var se *client.ServerError
	if !errors.As(err, &se) {
		o.d.log.Info("outbox line not sent; will retry", "op", op, "err", err)
		return later
	}
	switch {
	case se.Code == protocol.CodeRateLimited:
		o.holdUntil = time.Now().Add(rateLimitHold)
		o.d.log.Info("outbox line rate limited; will retry", "op", op, "in", rateLimitHold)
		return later
	case permanent(se.Code) || (joining && se.Code == protocol.CodeNotInvited):
		return o.reject(line, op+": "+se.Error())
	}
	o.refusals++
	if o.refusals >= o.d.cfg.MaxAttempts {
		return o.reject(line, fmt.Sprintf("%s: refused %d times: %v", op, o.refusals, se))
	}
	o.d.log.Warn("outbox line refused; will retry", "op", op, "refusals", o.refusals, "err", se)
	return later
}

// permanent reports node errors that sending the same line again cannot
// change.
func permanent(code protocol.Code) bool {
	switch code {
	case protocol.CodeChannelNotFound, protocol.CodeAgentNotFound, protocol.CodeInvalidMsg,
		protocol.CodeInvalidName:
		return true
	}
	return false
}

// rejection is a line of outbox.rejected.jsonl.
type rejection struct {
	RejectedAt int64  `json:"rejected_at"`
	Reason     string `json:"reason"`
	Line       string `json:"line"`
}

// reject moves a line to outbox.rejected.jsonl. If that write fails the
// line stays in the batch (later), so it is never lost.
func (o *outbox) reject(line []byte, reason string) outcome {
	b, err := protocol.Encode(rejection{RejectedAt: time.Now().UnixMilli(), Reason: reason, Line: string(line)})
	if err == nil {
		err = appendLine(o.path(rejectedFile), b)
	}
	if err != nil {
		o.d.log.Error("cannot record rejected outbox line", "reason", reason, "err", err)
		return later
	}
	o.d.log.Warn("outbox line rejected", "reason", reason, "line", preview(line))
	return rejected
}

// preview shortens a line for the log.
func preview(b []byte) string {
	const max = 200
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "…"
}
