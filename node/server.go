package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentchat/mesh/protocol"
)

// Server is one agentchat node's websocket side.
//
// Lock order: Server.mu, then channel.mu, then allowlist/banlist locks.
// Never hold a lock across network I/O: frames are queued to connections,
// whose writer goroutines do the writing.
type Server struct {
	cfg      Config
	log      *slog.Logger
	fed      Federation
	market   Market
	bind     []byte // node public key; challenges derive from it
	upgrader websocket.Upgrader
	flush    *flusher // writes for agents on plain TCP (flusher.go)
	parker   parker   // holds idle agents' sockets (park.go); nil: none
	parks    atomic.Int64
	// allowMode is the allowlist mode (reload.go); the only source of
	// truth after New, since the operator can change it at run time.
	allowMode atomic.Int32
	started   time.Time
	access    *access
	bans      *BanSet
	redact    *redactor
	metrics   *metrics

	ctx    context.Context // lifetime of the server; set by Run
	cancel context.CancelFunc

	mu         sync.RWMutex // guards everything below
	conns      map[*conn]struct{}
	agents     map[string]*conn // identified agents by wire ID
	remotes    map[string]*remote
	channels   map[string]*channel
	chanOrder  []string // creation order, for LIST_CHANNELS
	challenges map[string]*challenge
	verifies   map[string]*verifyReq
	takeovers  map[string]*takeover
	perIP      map[string]int
	floors     map[floorKey]*floor
	motd       *string
	closed     bool

	ln      net.Listener
	httpSrv *http.Server
	wg      sync.WaitGroup // connection goroutines and the sweeper
	closeMu sync.Once
}

// New checks cfg and builds a Server. It starts nothing: call Listen (or
// let Run do it) and Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		fed:        cfg.Federation,
		market:     cfg.Market,
		bind:       cfg.Key.Public().(ed25519PublicKey),
		conns:      make(map[*conn]struct{}),
		agents:     make(map[string]*conn),
		remotes:    make(map[string]*remote),
		channels:   make(map[string]*channel),
		challenges: make(map[string]*challenge),
		verifies:   make(map[string]*verifyReq),
		takeovers:  make(map[string]*takeover),
		perIP:      make(map[string]int),
		floors:     make(map[floorKey]*floor),
		metrics:    newMetrics(),
	}
	s.allowMode.Store(modeOf(cfg.Allowlist, cfg.AllowlistStrict))
	if cfg.Metrics != nil {
		if err := s.metrics.register(cfg.Metrics, s); err != nil {
			return nil, fmt.Errorf("node metrics: %w", err)
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "node")
	if s.fed == nil {
		s.fed = Noop{}
	}
	if s.market == nil {
		s.market = noMarket{}
	}
	if cfg.Motd != "" {
		m := cfg.Motd
		s.motd = &m
	}
	s.access = newAccess(cfg.Store)
	s.bans = newBanSet(cfg.Store, cfg.Key.Public().(ed25519.PublicKey), cfg.HonorBansFrom, s.banOnline, s.log)
	s.flush = newFlusher(cfg.WriteDelay)
	s.redact = newRedactor(cfg.Secrets)
	s.upgrader = websocket.Upgrader{
		// Agents are not browsers, and the original accepts every origin.
		CheckOrigin:     func(*http.Request) bool { return true },
		WriteBufferPool: &sync.Pool{},
		// The node reads frames itself (wsread.go); gorilla's reader,
		// never used, gets the smallest buffer it takes.
		ReadBufferSize:  128,
		WriteBufferSize: 4096,
	}
	for _, name := range cfg.Channels {
		s.addChannel(name, false, false)
	}
	for _, name := range cfg.VerifiedOnlyChannels {
		s.addChannel(name, false, true)
	}
	return s, nil
}

// Listen binds the listener so Addr is known before Run. Run calls it if
// it has not been called.
func (s *Server) Listen() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	s.ln = corkListener{ln}
	return nil
}

// Addr is the bound listener address; nil before Listen.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves until ctx ends, then shuts down: it stops accepting, closes
// every agent with 1001 and waits for their goroutines (bounded by
// ShutdownGrace). It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.started = time.Now()
	if err := s.access.load(s.ctx); err != nil {
		return err
	}
	if err := s.bans.load(s.ctx); err != nil {
		return err
	}
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if p, err := newParker(s.log); err != nil {
		s.log.Warn("idle agents keep a goroutine: no parker", "err", err)
	} else if p != nil {
		s.parker = p
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			p.run(s.ctx)
		}()
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.sweep(s.ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.flush.run(s.ctx)
	}()
	s.log.Info("node listening", "addr", s.ln.Addr().String(), "tls", s.cfg.TLSCert != "")
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.httpSrv.Serve(s.ln) }()
	select {
	case <-s.ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			s.shutdown()
			return fmt.Errorf("serve: %w", err)
		}
	}
	s.shutdown()
	<-serveErr
	return nil
}

// Close stops a running server as if its context had ended and waits for
// it. It is idempotent and safe before Run.
func (s *Server) Close() error {
	if s.cancel == nil {
		if s.ln != nil {
			return s.ln.Close()
		}
		return nil
	}
	s.shutdown()
	return nil
}

func (s *Server) shutdown() {
	s.closeMu.Do(func() {
		s.cancel()
		s.mu.Lock()
		s.closed = true
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		// Stop accepting; upgraded connections are ours to close.
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
		defer cancel()
		_ = s.httpSrv.Shutdown(sctx)
		for _, c := range conns {
			c.closeWith(protocol.CloseGoingAway, "Server shutting down")
		}
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(s.cfg.ShutdownGrace + time.Second):
			for _, c := range conns {
				c.terminate()
			}
			<-done
		}
		if s.parker != nil {
			_ = s.parker.close()
		}
		s.log.Info("node stopped", "agents_closed", len(conns))
	})
}

// Handler serves websocket upgrades on any path, GET /health and GET
// /api/connections, as the original does.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			s.serveWS(w, r)
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/health" && r.URL.RawQuery == "" && !r.URL.ForceQuery:
			s.serveHealth(w)
		case r.Method == http.MethodGet && r.URL.Path == "/api/connections":
			s.serveConnections(w, r)
		case r.URL.Path == "/bans" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
			s.serveBans(w, r)
		case s.cfg.HTTP != nil && routed(s.cfg.HTTP, r):
			s.cfg.HTTP.ServeHTTP(w, r)
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("Not Found"))
		}
	})
}

// clientIP is the socket address, or the first X-Forwarded-For entry when
// the operator trusts a proxy in front.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := cutComma(xff)
			return first
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func nowMS() int64 { return time.Now().UnixMilli() }

// routed reports whether mux has a pattern for r, so every other path keeps
// the original's plain "Not Found".
func routed(mux *http.ServeMux, r *http.Request) bool {
	_, pattern := mux.Handler(r)
	return pattern != ""
}
