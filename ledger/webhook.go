package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Webhook request headers. The body is the event's JSON.
const (
	HeaderEvent     = "X-Agentchat-Event"
	HeaderNode      = "X-Agentchat-Node"      // node key, hex; with SigningKey only
	HeaderSignature = "X-Agentchat-Signature" // Ed25519 over the body, base64; with SigningKey only
)

// errQueueFull is returned by Enqueue when a target's queue is full.
var errQueueFull = errors.New("webhook queue full; event dropped")

// WebhookConfig configures Webhooks. Zero values take the defaults noted.
type WebhookConfig struct {
	// URLs receive a POST of every event (http or https). Required.
	URLs []string
	// Events selects which events are sent; nil means all four.
	Events []string
	// Client sends the requests; nil means a client of its own.
	Client *http.Client
	// MaxAttempts per event and URL; 0 means 5. Only network errors, 408,
	// 429 and 5xx answers are retried.
	MaxAttempts int
	// InitialBackoff is the wait after the first failure, doubled after
	// each further one up to MaxBackoff (with up to 20% jitter added);
	// 0 means 500 ms and 30 s.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// AttemptTimeout bounds one request; 0 means 10 s.
	AttemptTimeout time.Duration
	// QueueSize is the number of events waiting per URL; 0 means 256. When
	// a queue is full new events for that URL are dropped, never waited for.
	QueueSize int
	// SigningKey, if set, signs each body (HeaderSignature) so receivers
	// can check it came from this node (HeaderNode).
	SigningKey ed25519.PrivateKey
	// Logger; nil discards.
	Logger *slog.Logger
}

// DefaultWebhookConfig returns the production defaults for urls.
func DefaultWebhookConfig(urls ...string) WebhookConfig {
	return WebhookConfig{
		URLs: urls, MaxAttempts: 5, InitialBackoff: 500 * time.Millisecond,
		MaxBackoff: 30 * time.Second, AttemptTimeout: 10 * time.Second, QueueSize: 256,
	}
}

// LocalWebhookConfig returns short timers for loopback tests.
func LocalWebhookConfig(urls ...string) WebhookConfig {
	c := DefaultWebhookConfig(urls...)
	c.InitialBackoff, c.MaxBackoff, c.AttemptTimeout = 5*time.Millisecond, 50*time.Millisecond, 2*time.Second
	return c
}

// WebhookStats counts deliveries since NewWebhooks.
type WebhookStats struct {
	Attempts  int64 // requests made
	Delivered int64 // events a URL answered 2xx
	Failed    int64 // events given up on (attempts exhausted or permanent error)
	Retries   int64 // attempts after a first failure
	Dropped   int64 // events not queued because a queue was full
}

// Webhooks forwards escrow events to HTTP endpoints. Enqueue never blocks;
// delivery, with retries and exponential backoff, happens in Run, which
// starts one goroutine per URL (so a dead endpoint cannot delay the others)
// and returns when its context ends and those goroutines have exited. Events
// still queued then are dropped. A failing webhook never blocks or fails
// settlement.
type Webhooks struct {
	cfg     WebhookConfig
	logger  *slog.Logger
	client  *http.Client
	events  map[string]bool
	targets []*webhookTarget
	nodeHex string
	running atomic.Bool

	attempts, delivered, failed, retries, dropped atomic.Int64
}

type webhookTarget struct {
	url   string
	queue chan webhookJob
}

type webhookJob struct {
	event string
	body  []byte
}

// NewWebhooks checks cfg and returns a sender. It starts nothing; call Run.
func NewWebhooks(cfg WebhookConfig) (*Webhooks, error) {
	def := DefaultWebhookConfig()
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = def.InitialBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = def.MaxBackoff
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = def.AttemptTimeout
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = def.QueueSize
	}
	if len(cfg.URLs) == 0 {
		return nil, errors.New("webhooks: no URLs")
	}
	if cfg.SigningKey != nil && len(cfg.SigningKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("webhooks: signing key has %d bytes", len(cfg.SigningKey))
	}
	w := &Webhooks{cfg: cfg, client: cfg.Client, events: make(map[string]bool)}
	w.logger = cfg.Logger
	if w.logger == nil {
		w.logger = slog.New(slog.DiscardHandler)
	}
	w.logger = w.logger.With("component", "ledger.webhooks")
	if w.client == nil {
		w.client = &http.Client{}
	}
	for _, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webhooks: bad URL %q", raw)
		}
		w.targets = append(w.targets, &webhookTarget{url: raw, queue: make(chan webhookJob, cfg.QueueSize)})
	}
	events := cfg.Events
	if events == nil {
		events = []string{EventEscrowCreated, EventSettlementCompletion, EventSettlementDispute, EventEscrowReleased}
	}
	for _, e := range events {
		if !eventNames[e] {
			return nil, fmt.Errorf("webhooks: unknown event %q", e)
		}
		w.events[e] = true
	}
	if cfg.SigningKey != nil {
		w.nodeHex = hex.EncodeToString(cfg.SigningKey.Public().(ed25519.PublicKey))
	}
	return w, nil
}

// Attach registers the sender on h for its configured events and returns a
// function that detaches it.
func (w *Webhooks) Attach(h *Hooks) (detach func()) {
	var offs []func()
	for e := range w.events {
		offs = append(offs, h.On(e, w.Enqueue))
	}
	return func() {
		for _, off := range offs {
			off()
		}
	}
}

// Enqueue queues ev for every URL without blocking. It returns an error if
// a queue was full (that URL misses the event) or ev cannot be encoded;
// events not configured are ignored.
func (w *Webhooks) Enqueue(ev Event) error {
	if !w.events[ev.Event] {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", ev.Event, err)
	}
	var errs []error
	for _, t := range w.targets {
		select {
		case t.queue <- webhookJob{event: ev.Event, body: body}:
		default:
			w.dropped.Add(1)
			errs = append(errs, fmt.Errorf("webhook %s to %s: %w", ev.Event, t.url, errQueueFull))
		}
	}
	return errors.Join(errs...)
}

// Stats returns delivery counters.
func (w *Webhooks) Stats() WebhookStats {
	return WebhookStats{
		Attempts: w.attempts.Load(), Delivered: w.delivered.Load(), Failed: w.failed.Load(),
		Retries: w.retries.Load(), Dropped: w.dropped.Load(),
	}
}

// Run delivers queued events until ctx ends, then waits for its delivery
// goroutines and returns nil. It may be called once.
func (w *Webhooks) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("webhooks: Run called twice")
	}
	var wg sync.WaitGroup
	for _, t := range w.targets {
		wg.Go(func() { w.serve(ctx, t) })
	}
	wg.Wait()
	if w.cfg.Client == nil {
		w.client.CloseIdleConnections() // ours: leave no keep-alive goroutines behind
	}
	return nil
}

// serve is the delivery loop of one target; it runs on a goroutine owned by Run.
func (w *Webhooks) serve(ctx context.Context, t *webhookTarget) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-t.queue:
			w.deliver(ctx, t.url, job)
		}
	}
}

// deliver posts job to u, retrying with backoff, and counts the result.
func (w *Webhooks) deliver(ctx context.Context, u string, job webhookJob) {
	backoff := w.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		retry, err := w.post(ctx, u, job)
		if err == nil {
			w.delivered.Add(1)
			return
		}
		if !retry || attempt >= w.cfg.MaxAttempts || ctx.Err() != nil {
			w.failed.Add(1)
			w.logger.Warn("webhook delivery failed", "url", u, "event", job.event, "attempts", attempt, "err", err)
			return
		}
		w.logger.Debug("webhook attempt failed", "url", u, "event", job.event, "attempt", attempt, "err", err)
		wait := backoff + rand.N(backoff/5+1)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			w.failed.Add(1)
			return
		case <-timer.C:
		}
		w.retries.Add(1)
		backoff = min(2*backoff, w.cfg.MaxBackoff)
	}
}

// post makes one attempt. retry reports whether a failure is worth retrying.
func (w *Webhooks) post(ctx context.Context, u string, job webhookJob) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(job.body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEvent, job.event)
	if w.cfg.SigningKey != nil {
		req.Header.Set(HeaderNode, w.nodeHex)
		req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(w.cfg.SigningKey, job.body)))
	}
	w.attempts.Add(1)
	resp, err := w.client.Do(req)
	if err != nil {
		return true, err
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("status %d", c)
	default:
		return false, fmt.Errorf("status %d", c)
	}
}
