package transfer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// Limits and timers of PROTOCOL.md §21.2.
const (
	// MaxTotalSize is the largest sum of file sizes a transfer may carry,
	// on both sides (50 MiB).
	MaxTotalSize = 50 << 20
	// DefaultChunkInterval is the pause between chunks, the reference
	// sender's fixed 200 ms.
	DefaultChunkInterval = 200 * time.Millisecond
	// MinChunkInterval is the node's FILE_CHUNK spacing (§18); a shorter
	// ChunkInterval is raised to it.
	MinChunkInterval = 100 * time.Millisecond
	// DefaultReplyTimeout bounds the wait for accept or reject.
	DefaultReplyTimeout = 5 * time.Minute
	// DefaultAckTimeout bounds the wait for the ack after complete.
	DefaultAckTimeout = time.Minute
)

// SenderConfig configures a Sender. Every field has a usable zero value.
type SenderConfig struct {
	// Events is where the Sender reads the client's events. nil means
	// Client.Events(), which the Sender then consumes alone.
	Events <-chan client.Event
	// Nick is the offer's senderNick. "" means the client's name.
	Nick string
	// MaxTotalSize caps the sum of the file sizes. Zero means MaxTotalSize.
	MaxTotalSize int64
	// MaxFrame is the node's frame limit in bytes (node --max-frame, and
	// no more than its FILE_CHUNK content cap); chunks are cut so that the
	// frame the node relays fits (chunk.go). Zero means
	// protocol.DefaultMaxFrame (2 MiB).
	MaxFrame int
	// MaxContent is the node's MSG content cap in UTF-16 units, which the
	// offer must fit. Zero means protocol.DefaultMaxContent (4096).
	MaxContent int
	// ChunkInterval is the pause after each chunk. Zero means 200 ms; it
	// is never below MinChunkInterval.
	ChunkInterval time.Duration
	// ReplyTimeout bounds the wait for accept or reject. Zero means 5 min.
	ReplyTimeout time.Duration
	// AckTimeout bounds the wait for the receiver's ack after complete.
	// Zero means 1 min.
	AckTimeout time.Duration
	// Logger receives the Sender's logs; nil discards them.
	Logger *slog.Logger
}

// SendResult describes a transfer the receiver acknowledged with ok:true.
type SendResult struct {
	TID       string     `json:"tid"`
	To        string     `json:"to"`
	Files     []FileInfo `json:"files"`
	TotalSize int64      `json:"totalSize"`
	SHA256    string     `json:"sha256"`
	Chunks    int        `json:"chunks"`
}

// Sender offers files to other agents and sends them when they accept.
// Run must be running for Send to hear the replies. Its methods are safe
// for concurrent use; concurrent transfers are independent.
type Sender struct {
	c   *client.Client
	cfg SenderConfig
	log *slog.Logger

	// mangle, set by tests only, rewrites a chunk's data before it is sent.
	mangle func(idx int, data string) string

	stopped  chan struct{} // closed when Run has ended
	stopOnce sync.Once

	mu      sync.Mutex           // guards waiting
	waiting map[string]*outgoing // by transfer ID, while a Send runs
}

// outgoing is the reply mailbox of one Send.
type outgoing struct {
	to      string     // "@id" of the receiver; replies from others are ignored
	replies chan ftMsg // accept, reject, ack; buffered, never blocks Run
}

// NewSender returns a Sender on c; start its Run.
func NewSender(c *client.Client, cfg SenderConfig) *Sender {
	if cfg.Events == nil {
		cfg.Events = c.Events()
	}
	if cfg.Nick == "" {
		cfg.Nick = c.Name()
	}
	if cfg.MaxTotalSize <= 0 {
		cfg.MaxTotalSize = MaxTotalSize
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = protocol.DefaultMaxFrame
	}
	if cfg.MaxContent <= 0 {
		cfg.MaxContent = protocol.DefaultMaxContent
	}
	if cfg.ChunkInterval == 0 {
		cfg.ChunkInterval = DefaultChunkInterval
	}
	cfg.ChunkInterval = max(cfg.ChunkInterval, MinChunkInterval)
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = DefaultReplyTimeout
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{c: c, cfg: cfg, log: cfg.Logger.With("component", "transfer-sender"),
		stopped: make(chan struct{}), waiting: make(map[string]*outgoing)}
}

// Send packs the files and directories at paths and sends them to the
// agent to ("@id"), with the client's events consumed by a Sender for the
// duration. It returns once the receiver acknowledged the transfer with
// ok:true; otherwise the error says why (ErrRejected, ErrHashMismatch,
// ErrFailed, ErrTimeout, a *client.ServerError such as AGENT_NOT_FOUND, …).
// Nothing else may read c.Events() meanwhile.
func Send(ctx context.Context, c *client.Client, to string, paths []string) (*SendResult, error) {
	s := NewSender(c, SenderConfig{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(runCtx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	return s.Send(ctx, to, paths)
}

// Run reads the client's events and hands the replies of running
// transfers to them, until ctx ends or the events channel is closed (the
// client stopped). Transfers still waiting then fail with ErrStopped.
func (s *Sender) Run(ctx context.Context) {
	defer s.stopOnce.Do(func() { close(s.stopped) })
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-s.cfg.Events:
			if !ok {
				return
			}
			s.handle(ev)
		}
	}
}

// handle routes one event; it never blocks.
func (s *Sender) handle(ev client.Event) {
	m, isMsg := ev.(*protocol.MsgFrame)
	if !isMsg || m.Replay || !strings.HasPrefix(m.To, "@") {
		return
	}
	ft, ok := parseFT(m.Content)
	if !ok || (ft.FT != ftAccept && ft.FT != ftReject && ft.FT != ftAck) {
		return
	}
	s.mu.Lock()
	w := s.waiting[ft.TID]
	s.mu.Unlock()
	if w == nil || w.to != m.From {
		return
	}
	select {
	case w.replies <- ft:
	default:
		s.log.Warn("dropping reply: transfer not listening", "tid", ft.TID, "op", ft.FT)
	}
}

// Send packs the regular files at paths (a directory adds every regular
// file under it, named by the directory's base name and the relative path,
// as "dir/b.txt"; symbolic links inside directories are skipped) and
// transfers them to the agent to. See the package function Send.
func (s *Sender) Send(ctx context.Context, to string, paths []string) (*SendResult, error) {
	files, err := readPaths(paths, s.cfg.MaxTotalSize)
	if err != nil {
		return nil, err
	}
	return s.SendFiles(ctx, to, files)
}

// SendFiles transfers files, named as given, to the agent to ("@id"):
// offer, wait for accept, chunks, complete, wait for ack (§21.2).
func (s *Sender) SendFiles(ctx context.Context, to string, files []File) (*SendResult, error) {
	id, ok := identity.ParseTarget(to)
	if !ok {
		return nil, fmt.Errorf("send files: %q is not an agent ID (@ followed by the ID)", to)
	}
	to = "@" + id
	if err := checkFiles(files, s.cfg.MaxTotalSize); err != nil {
		return nil, fmt.Errorf("send files: %w", err)
	}
	archive := Pack(files)
	chunks, err := splitArchive(archive, MaxChunkUnits, s.cfg.MaxFrame)
	if err != nil {
		return nil, fmt.Errorf("send files: %w", err)
	}
	res := &SendResult{TID: newTID(), To: to, SHA256: archiveSHA256(archive), Chunks: len(chunks)}
	for _, f := range files {
		res.Files = append(res.Files, FileInfo{Name: f.Name, Size: int64(len(f.Data))})
		res.TotalSize += int64(len(f.Data))
	}
	offer := encodeFT(offerWire{FT: ftOffer, TID: res.TID, Files: res.Files, TotalSize: res.TotalSize,
		SHA256: res.SHA256, Chunks: res.Chunks, SenderNick: s.cfg.Nick})
	if n := protocol.UTF16Len(offer); n > s.cfg.MaxContent {
		return nil, fmt.Errorf("send files: offer is %d characters, over the node's message limit of %d: send fewer files or shorter names",
			n, s.cfg.MaxContent)
	}

	w := &outgoing{to: to, replies: make(chan ftMsg, 16)}
	s.mu.Lock()
	s.waiting[res.TID] = w
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, res.TID)
		s.mu.Unlock()
	}()
	log := s.log.With("tid", res.TID, "to", to)

	if err := sendDM(ctx, s.c, to, offer); err != nil {
		return nil, fmt.Errorf("offer: %w", err)
	}
	log.Info("offered", "files", len(files), "size", res.TotalSize, "chunks", len(chunks))
	reply, err := s.await(ctx, w, s.cfg.ReplyTimeout, "accept", ftAccept, ftReject)
	if err != nil {
		return nil, err
	}
	if reply.FT == ftReject {
		if reply.Reason != "" {
			return nil, fmt.Errorf("%w: %s", ErrRejected, reply.Reason)
		}
		return nil, ErrRejected
	}

	for i, data := range chunks {
		if i > 0 {
			if err := sleep(ctx, s.cfg.ChunkInterval); err != nil {
				return nil, err
			}
		}
		select { // the receiver may have given up already
		case r := <-w.replies:
			if r.FT == ftAck {
				return nil, ackError(r)
			}
		default:
		}
		if s.mangle != nil {
			data = s.mangle(i, data)
		}
		content := encodeFT(chunkWire{FT: ftChunk, TID: res.TID, Idx: i, Total: len(chunks), Data: data})
		if err := s.sendChunk(ctx, to, content); err != nil {
			return nil, fmt.Errorf("chunk %d/%d: %w", i+1, len(chunks), err)
		}
	}
	if err := sendDM(ctx, s.c, to, encodeFT(completeWire{FT: ftComplete, TID: res.TID, SHA256: res.SHA256})); err != nil {
		return nil, fmt.Errorf("complete: %w", err)
	}
	ack, err := s.await(ctx, w, s.cfg.AckTimeout, "ack", ftAck)
	if err != nil {
		return nil, err
	}
	if err := ackError(ack); err != nil {
		log.Warn("receiver refused the transfer", "err", err)
		return nil, err
	}
	log.Info("transfer acknowledged")
	return res, nil
}

// await waits for a reply of one of the kinds.
func (s *Sender) await(ctx context.Context, w *outgoing, timeout time.Duration, what string, kinds ...string) (ftMsg, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case r := <-w.replies:
			for _, k := range kinds {
				if r.FT == k {
					return r, nil
				}
			}
		case <-t.C:
			return ftMsg{}, fmt.Errorf("%w: no %s from %s within %s", ErrTimeout, what, w.to, timeout)
		case <-ctx.Done():
			return ftMsg{}, ctx.Err()
		case <-s.stopped:
			return ftMsg{}, fmt.Errorf("waiting for %s: %w", what, ErrStopped)
		}
	}
}

// sendChunk sends one FILE_CHUNK, trying again when the node says the
// chunks come too fast (its clock is not ours).
func (s *Sender) sendChunk(ctx context.Context, to, content string) error {
	for attempt := 1; ; attempt++ {
		err := s.c.SendFileChunk(ctx, to, content)
		if err == nil || !isRateLimited(err) || attempt == rateLimitRetries {
			return err
		}
		if err := sleep(ctx, s.cfg.ChunkInterval); err != nil {
			return err
		}
	}
}

// ackError turns an ack into nil (ok) or the error it reports.
func ackError(r ftMsg) error {
	if r.OK != nil && *r.OK {
		return nil
	}
	switch r.Error {
	case "hash mismatch":
		return fmt.Errorf("receiver: %w", ErrHashMismatch)
	case "":
		return fmt.Errorf("%w: receiver reported failure", ErrFailed)
	}
	return fmt.Errorf("%w: receiver: %s", ErrFailed, r.Error)
}

// newTID returns a transfer ID: 16 hex characters from 8 random bytes.
func newTID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}
