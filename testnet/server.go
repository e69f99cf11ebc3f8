package testnet

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/agentchat/mesh/node"
)

// Server is a websocket node alone (no mesh, no market) on a data dir:
// what the agent-side tests talk to. Start it with StartServer.
type Server struct {
	Srv  *node.Server
	Addr string // host:port
	URL  string // ws://host:port/

	data   *node.DataDir
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// StartServer opens dir, starts a node with node.LocalConfig listening on
// addr (both may be an earlier server's, for restart tests), applies each
// tune in order, and returns once it listens.
func StartServer(dir, addr string, log *slog.Logger, tune ...func(*node.Config)) (*Server, error) {
	ctx, cancel := context.WithCancel(context.Background())
	dd, err := node.OpenDataDir(ctx, dir)
	if err != nil {
		cancel()
		return nil, err
	}
	cfg := node.LocalConfig()
	cfg.Listen = addr
	cfg.Key, cfg.Store, cfg.Logger = dd.Key, dd.Store, log
	for _, t := range tune {
		t(&cfg)
	}
	srv, err := node.New(cfg)
	if err == nil {
		err = srv.Listen()
	}
	if err != nil {
		cancel()
		dd.Close()
		return nil, err
	}
	s := &Server{Srv: srv, Addr: srv.Addr().String(), data: dd, cancel: cancel, done: make(chan error, 1)}
	s.URL = "ws://" + s.Addr + "/"
	go func() { s.done <- srv.Run(ctx) }()
	return s, nil
}

// Stop shuts the node down (agents get 1001) and closes its data dir. It
// is idempotent and returns the first error.
func (s *Server) Stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			s.err = err
		case <-time.After(15 * time.Second):
			buf := make([]byte, 1<<22)
			s.err = fmt.Errorf("node did not stop within 15s; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
			return // leave the data dir open: Run may still use it
		}
		if err := s.data.Close(); err != nil && s.err == nil {
			s.err = fmt.Errorf("close data dir: %w", err)
		}
	})
	return s.err
}
