package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// Receiver limits and timers of PROTOCOL.md §21.2.
const (
	// DefaultOfferTTL is how long an offer waits for Accept or Reject.
	DefaultOfferTTL = 30 * time.Minute
	// DefaultReceiveTimeout bounds a transfer from accept until every
	// chunk and the complete message have arrived.
	DefaultReceiveTimeout = 120 * time.Second
	// DefaultMaxPending caps the offers kept waiting; the oldest goes first.
	DefaultMaxPending = 64
	// DefaultMaxActive caps the transfers received at once: each may hold
	// an archive of up to about 70 MiB in memory.
	DefaultMaxActive = 4
	// maxChunks bounds an offer's chunk count (a 50 MiB transfer needs well
	// under a thousand).
	maxChunks = 1 << 16
	// maxOfferFiles bounds an offer's file list.
	maxOfferFiles = 10_000
	// maxRejecting bounds the rejects being sent at once.
	maxRejecting = 16
	// sweepInterval is how often Run drops expired offers.
	sweepInterval = time.Minute
)

// Ack error texts a Receiver sends (only "hash mismatch" is in §21.1).
const (
	ackHashMismatch = "hash mismatch"
	ackTimeout      = "timeout"
	ackBadArchive   = "malformed archive"
	ackUnsafePath   = "unsafe path"
	ackTooLarge     = "too large"
	ackWriteFailed  = "write failed"
)

// Offer is a transfer offered to this agent.
type Offer struct {
	TID        string     `json:"tid"`
	From       string     `json:"from"` // "@id" of the sender
	FromName   string     `json:"from_name,omitempty"`
	SenderNick string     `json:"senderNick,omitempty"`
	Files      []FileInfo `json:"files"`
	TotalSize  int64      `json:"totalSize"`
	SHA256     string     `json:"sha256"`
	Chunks     int        `json:"chunks"`
	Received   time.Time  `json:"received"`
}

// Result describes a received transfer. A failed one still names the
// transfer (TID, From, Dir); Files is set only when the files were written.
type Result struct {
	TID    string         `json:"tid"`
	From   string         `json:"from"`
	Dir    string         `json:"dir"`
	Files  []ReceivedFile `json:"files"`
	Size   int64          `json:"size"`
	SHA256 string         `json:"sha256"`
}

// ReceivedFile is one file written by a transfer.
type ReceivedFile struct {
	Name string `json:"name"` // as named in the archive
	Path string `json:"path"` // where it was written (absolute)
	Size int64  `json:"size"`
}

// ReceiverConfig configures a Receiver. Every field has a usable zero value.
type ReceiverConfig struct {
	// Events is where the Receiver reads the client's events. nil means
	// Client.Events(), which the Receiver then consumes alone.
	Events <-chan client.Event
	// MaxTotalSize refuses (rejects) offers whose totalSize is larger and
	// fails transfers whose files turn out larger. Zero means MaxTotalSize.
	MaxTotalSize int64
	// OfferTTL is how long an offer is kept. Zero means 30 min.
	OfferTTL time.Duration
	// ReceiveTimeout bounds a transfer from accept to the last of its
	// chunks and complete. Zero means 120 s.
	ReceiveTimeout time.Duration
	// MaxPending caps the offers kept. Zero means 64.
	MaxPending int
	// MaxActive caps the transfers received at once; Accept beyond it fails
	// with ErrBusy, and an auto-accepted offer is then rejected ("busy").
	// Zero means 4.
	MaxActive int
	// OnOffer is told of each new acceptable offer, on Run's goroutine: it
	// must not block (nor call Accept itself). Returning accept true
	// accepts the offer into dir at once (auto-accept): Run then runs the
	// transfer and reports it to OnResult. Otherwise the offer waits for
	// Accept or Reject until it expires. nil keeps every offer waiting.
	OnOffer func(o Offer) (dir string, accept bool)
	// OnResult is told how each auto-accepted transfer ended (err nil: the
	// files are written). It runs on the transfer's goroutine.
	OnResult func(res *Result, err error)
	// Logger receives the Receiver's logs; nil discards them.
	Logger *slog.Logger
}

// Receiver keeps the offers sent to its client's agent and receives the
// transfers it accepts. Run must be running. Its methods are safe for
// concurrent use.
type Receiver struct {
	c   *client.Client
	cfg ReceiverConfig
	log *slog.Logger

	stopped   chan struct{} // closed when Run stops reading events
	stopOnce  sync.Once
	rejecting atomic.Int32 // rejects being sent

	mu     sync.Mutex           // guards offers and active (and the incoming they hold)
	offers map[string]*Offer    // waiting, by transfer ID
	active map[string]*incoming // accepted and receiving, by transfer ID
}

// incoming is the state of an accepted transfer; guarded by Receiver.mu.
type incoming struct {
	offer    Offer
	chunks   []string
	have     []bool
	got      int
	bytes    int
	maxBytes int
	sha256   string // from complete
	complete bool
	err      error         // set when the transfer cannot succeed (too large)
	done     chan struct{} // closed once every chunk and complete arrived, or err is set
	closed   bool
}

// NewReceiver returns a Receiver on c; start its Run.
func NewReceiver(c *client.Client, cfg ReceiverConfig) *Receiver {
	if cfg.Events == nil {
		cfg.Events = c.Events()
	}
	if cfg.MaxTotalSize <= 0 {
		cfg.MaxTotalSize = MaxTotalSize
	}
	if cfg.OfferTTL <= 0 {
		cfg.OfferTTL = DefaultOfferTTL
	}
	if cfg.ReceiveTimeout <= 0 {
		cfg.ReceiveTimeout = DefaultReceiveTimeout
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.MaxActive <= 0 {
		cfg.MaxActive = DefaultMaxActive
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{c: c, cfg: cfg, log: cfg.Logger.With("component", "transfer-receiver"),
		stopped: make(chan struct{}), offers: make(map[string]*Offer), active: make(map[string]*incoming)}
}

// Run reads the client's events until ctx ends or the events channel is
// closed, keeping offers, refusing oversize ones and feeding chunks to
// accepted transfers. Before it returns it waits for the goroutines it
// started (auto-accepted transfers, rejects); transfers still waiting for
// chunks then fail with ErrStopped.
func (r *Receiver) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer func() {
		r.stopOnce.Do(func() { close(r.stopped) })
		wg.Wait()
	}()
	sweep := time.NewTicker(sweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			r.sweep(time.Now())
		case ev, ok := <-r.cfg.Events:
			if !ok {
				return
			}
			r.handle(ctx, &wg, ev)
		}
	}
}

// handle processes one event on Run's goroutine; it never blocks on the
// network.
func (r *Receiver) handle(ctx context.Context, wg *sync.WaitGroup, ev client.Event) {
	switch f := ev.(type) {
	case *protocol.MsgFrame:
		if f.Replay || !strings.HasPrefix(f.To, "@") {
			return
		}
		m, ok := parseFT(f.Content)
		if !ok {
			return
		}
		switch m.FT {
		case ftOffer:
			r.handleOffer(ctx, wg, f, m)
		case ftComplete:
			r.handleComplete(f.From, m)
		}
	case *protocol.FileChunkFrame:
		m, ok := parseFT(f.Content)
		if ok && m.FT == ftChunk {
			r.handleChunk(f.From, m)
		}
	}
}

func (r *Receiver) handleOffer(ctx context.Context, wg *sync.WaitGroup, f *protocol.MsgFrame, m ftMsg) {
	log := r.log.With("tid", m.TID, "from", f.From)
	if _, ok := identity.ParseTarget(f.From); !ok || !strings.HasPrefix(f.From, "@") {
		return
	}
	if !validTID(m.TID) || !validSHA256(m.SHA256) || m.Chunks < 1 || m.Chunks > maxChunks ||
		m.TotalSize < 0 || len(m.Files) > maxOfferFiles {
		log.Warn("ignoring malformed offer")
		return
	}
	var declared int64 // saturates just past the limit
	for _, fi := range m.Files {
		declared = min(declared+max(fi.Size, 0), r.cfg.MaxTotalSize+1)
		if fi.Size > r.cfg.MaxTotalSize {
			declared = r.cfg.MaxTotalSize + 1
		}
	}
	o := Offer{TID: m.TID, From: f.From, FromName: f.FromName, SenderNick: m.SenderNick, Files: m.Files,
		TotalSize: m.TotalSize, SHA256: strings.ToLower(m.SHA256), Chunks: m.Chunks, Received: time.Now()}

	r.mu.Lock()
	_, pending := r.offers[o.TID]
	_, running := r.active[o.TID]
	r.mu.Unlock()
	if pending || running {
		log.Debug("ignoring repeated offer")
		return
	}
	if o.TotalSize > r.cfg.MaxTotalSize || declared > r.cfg.MaxTotalSize {
		log.Info("rejecting oversize offer", "size", max(o.TotalSize, declared), "limit", r.cfg.MaxTotalSize)
		if r.rejecting.Add(1) > maxRejecting {
			r.rejecting.Add(-1)
			return // a flood of offers: refuse by silence, as the reference receiver always does
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.rejecting.Add(-1)
			reason := fmt.Sprintf("too large: %d bytes, limit %d", max(o.TotalSize, declared), r.cfg.MaxTotalSize)
			if err := sendDM(ctx, r.c, o.From, encodeFT(rejectWire{FT: ftReject, TID: o.TID, Reason: reason})); err != nil {
				log.Warn("reject not sent", "err", err)
			}
		}()
		return
	}

	r.mu.Lock()
	r.sweepLocked(o.Received)
	for len(r.offers) >= r.cfg.MaxPending {
		r.dropOldestLocked()
	}
	r.offers[o.TID] = &o
	r.mu.Unlock()
	log.Info("offer received", "files", len(o.Files), "size", o.TotalSize, "chunks", o.Chunks)

	if r.cfg.OnOffer == nil {
		return
	}
	dir, accept := r.cfg.OnOffer(o)
	if !accept {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, err := r.Accept(ctx, o.TID, dir)
		if errors.Is(err, ErrBusy) {
			if rerr := r.Reject(ctx, o.TID, "busy"); rerr != nil {
				log.Warn("reject not sent", "err", rerr)
			}
		}
		if r.cfg.OnResult != nil {
			r.cfg.OnResult(res, err)
		}
	}()
}

func (r *Receiver) handleComplete(from string, m ftMsg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := r.active[m.TID]
	if in == nil || in.offer.From != from || in.complete {
		return
	}
	in.complete = true
	in.sha256 = strings.ToLower(m.SHA256)
	in.checkDoneLocked()
}

func (r *Receiver) handleChunk(from string, m ftMsg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := r.active[m.TID]
	if in == nil || in.offer.From != from || in.closed || m.Idx == nil {
		return
	}
	idx := *m.Idx
	if idx < 0 || idx >= len(in.chunks) || in.have[idx] {
		return // out of range or duplicate: ignored (§21.2)
	}
	data, err := decodeChunkData(m.Data)
	if err != nil {
		r.log.Warn("ignoring chunk with malformed data", "tid", m.TID, "idx", idx)
		return
	}
	in.bytes += len(data)
	if in.bytes > in.maxBytes {
		in.err = fmt.Errorf("%w: archive passes %d bytes", ErrTooLarge, in.maxBytes)
		in.finishLocked()
		return
	}
	in.chunks[idx], in.have[idx] = data, true
	in.got++
	in.checkDoneLocked()
}

func (in *incoming) checkDoneLocked() {
	if in.complete && in.got == len(in.chunks) {
		in.finishLocked()
	}
}

func (in *incoming) finishLocked() {
	if !in.closed {
		in.closed = true
		close(in.done)
	}
}

// Offers returns the offers waiting for Accept or Reject, oldest first.
func (r *Receiver) Offers() []Offer {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweepLocked(time.Now())
	out := make([]Offer, 0, len(r.offers))
	for _, o := range r.offers {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out
}

// Reject refuses a waiting offer and tells the sender.
func (r *Receiver) Reject(ctx context.Context, tid, reason string) error {
	r.mu.Lock()
	o := r.offers[tid]
	delete(r.offers, tid)
	r.mu.Unlock()
	if o == nil {
		return fmt.Errorf("reject %s: %w", tid, ErrUnknownOffer)
	}
	return sendDM(ctx, r.c, o.From, encodeFT(rejectWire{FT: ftReject, TID: tid, Reason: reason}))
}

func (r *Receiver) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweepLocked(now)
}

func (r *Receiver) sweepLocked(now time.Time) {
	for tid, o := range r.offers {
		if now.Sub(o.Received) > r.cfg.OfferTTL {
			delete(r.offers, tid)
		}
	}
}

func (r *Receiver) dropOldestLocked() {
	var oldest *Offer
	for _, o := range r.offers {
		if oldest == nil || o.Received.Before(oldest.Received) {
			oldest = o
		}
	}
	if oldest != nil {
		delete(r.offers, oldest.TID)
	}
}
