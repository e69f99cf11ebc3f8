package ledger

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hookServer answers with the given status codes in turn (200 after them)
// and records each request.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	codes  []int
	bodies [][]byte
	hdrs   []http.Header
}

func newHookServer(t *testing.T, codes ...int) *hookServer {
	s := &hookServer{codes: codes}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.hdrs = append(s.hdrs, r.Header.Clone())
		code := http.StatusOK
		if len(s.codes) > 0 {
			code, s.codes = s.codes[0], s.codes[1:]
		}
		s.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// runWebhooks starts w.Run and stops it (waiting) at cleanup.
func runWebhooks(t *testing.T, w *Webhooks) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("webhooks Run did not return")
		}
	})
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	srv := newHookServer(t, http.StatusInternalServerError)
	cfg := LocalWebhookConfig(srv.URL)
	cfg.Client = srv.Client()
	cfg.SigningKey = nodeA
	w, err := NewWebhooks(cfg)
	require.NoError(t, err)
	hooks := NewHooks(nil)
	detach := w.Attach(hooks)
	defer detach()
	runWebhooks(t, w)

	e := NewEscrow(EscrowConfig{Hooks: hooks, Now: func() time.Time { return time.UnixMilli(t0) }})
	_, err = e.Reserve(t.Context(), Reservation{ProposalID: "p1", From: alice.id, To: bob.id, ProposerStake: 10, Task: "t"})
	require.NoError(t, err)

	require.Eventually(t, func() bool { return w.Stats().Delivered == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, WebhookStats{Attempts: 2, Delivered: 1, Retries: 1}, w.Stats())
	require.Equal(t, 2, srv.requests())
	srv.mu.Lock()
	body, hdr := srv.bodies[1], srv.hdrs[1]
	require.Equal(t, srv.bodies[0], body, "the retry sends the same body")
	srv.mu.Unlock()

	var ev Event
	require.NoError(t, json.Unmarshal(body, &ev))
	require.Equal(t, EventEscrowCreated, ev.Event)
	require.Equal(t, "p1", ev.ProposalID)
	require.Equal(t, int64(10), *ev.TotalStake)
	require.JSONEq(t, `{"event":"escrow:created","timestamp":1700000000000,"proposal_id":"p1","from_agent":"`+alice.id+
		`","to_agent":"`+bob.id+`","proposer_stake":10,"acceptor_stake":0,"total_stake":10,"task":"t","escrow_id":"p1"}`, string(body))
	require.Equal(t, EventEscrowCreated, hdr.Get(HeaderEvent))
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	sig, err := base64.StdEncoding.DecodeString(hdr.Get(HeaderSignature))
	require.NoError(t, err)
	require.True(t, ed25519.Verify(nodeA.Public().(ed25519.PublicKey), body, sig))
}

func TestWebhookPermanentFailure(t *testing.T) {
	srv := newHookServer(t, http.StatusBadRequest)
	cfg := LocalWebhookConfig(srv.URL)
	cfg.Client = srv.Client()
	w, err := NewWebhooks(cfg)
	require.NoError(t, err)
	runWebhooks(t, w)
	require.NoError(t, w.Enqueue(Event{Event: EventEscrowReleased, ProposalID: "p"}))
	require.Eventually(t, func() bool { return w.Stats().Failed == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, 1, srv.requests(), "a 400 is not retried")
}

func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	srv := newHookServer(t, 503, 503, 503, 503, 503, 503)
	cfg := LocalWebhookConfig(srv.URL)
	cfg.Client = srv.Client()
	cfg.MaxAttempts = 3
	w, err := NewWebhooks(cfg)
	require.NoError(t, err)
	runWebhooks(t, w)
	require.NoError(t, w.Enqueue(Event{Event: EventEscrowReleased, ProposalID: "p"}))
	require.Eventually(t, func() bool { return w.Stats().Failed == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, 3, srv.requests())
	require.Equal(t, int64(2), w.Stats().Retries)
}

func TestWebhookQueueFullDropsWithoutBlocking(t *testing.T) {
	cfg := LocalWebhookConfig("http://127.0.0.1:1/hook")
	cfg.QueueSize = 1
	cfg.Events = []string{EventEscrowReleased}
	w, err := NewWebhooks(cfg)
	require.NoError(t, err)
	require.NoError(t, w.Enqueue(Event{Event: EventEscrowReleased}))
	require.ErrorIs(t, w.Enqueue(Event{Event: EventEscrowReleased}), errQueueFull)
	require.NoError(t, w.Enqueue(Event{Event: EventEscrowCreated}), "not configured: ignored")
	require.Equal(t, int64(1), w.Stats().Dropped)

	// A hook that fails (queue full) does not fail the emitter.
	hooks := NewHooks(nil)
	w.Attach(hooks)
	require.Len(t, hooks.Emit(Event{Event: EventEscrowReleased}), 1)
}

func TestWebhookStopsDuringBackoff(t *testing.T) {
	cfg := LocalWebhookConfig("http://127.0.0.1:1/hook") // nothing listens
	cfg.InitialBackoff, cfg.MaxBackoff = time.Hour, time.Hour
	w, err := NewWebhooks(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	require.NoError(t, w.Enqueue(Event{Event: EventEscrowReleased}))
	// Once the first attempt is made, the sender is failing or backing off.
	require.Eventually(t, func() bool { return w.Stats().Attempts == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop during backoff")
	}
	require.Error(t, w.Run(context.Background()), "Run twice")
}

func TestNewWebhooksRejects(t *testing.T) {
	for _, cfg := range []WebhookConfig{
		{},
		{URLs: []string{"ftp://x"}},
		{URLs: []string{"http://"}},
		{URLs: []string{"http://x"}, Events: []string{"nope"}},
		{URLs: []string{"http://x"}, SigningKey: []byte{1}},
	} {
		_, err := NewWebhooks(cfg)
		require.Error(t, err, "%+v", cfg)
	}
}
