package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/mcp"
	"github.com/agentchat/mesh/agent/runner"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// waitTimeout bounds every wait; on loopback it only decides how long a
// failure takes.
const waitTimeout = 20 * time.Second

// startNode starts a real node without rate limits on a fresh data dir,
// stopped in cleanup.
func startNode(t *testing.T) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := testnet.StartServer(t.TempDir(), "127.0.0.1:0", log, func(c *node.Config) { c.RateLimits = false })
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Stop()) })
	return n.URL
}

// peer is a plain agent on the node that talks to the runner's agent.
type peer struct {
	*client.Client
	mu   sync.Mutex
	msgs []*protocol.MsgFrame
	done chan struct{}
}

// dialPeer connects an ephemeral agent that joins #general and records
// the messages it gets; closed in cleanup.
func dialPeer(t *testing.T, url, name string) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: url, Name: name})
	require.NoError(t, err)
	_, err = c.Join(ctx, "#general")
	require.NoError(t, err)
	p := &peer{Client: c, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for ev := range c.Events() {
			if m, ok := ev.(*protocol.MsgFrame); ok && !m.Replay {
				p.mu.Lock()
				p.msgs = append(p.msgs, m)
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		<-p.done
	})
	return p
}

// waitMsg waits until the peer got a message whose content contains want.
func (p *peer) waitMsg(t *testing.T, want string) *protocol.MsgFrame {
	t.Helper()
	var got *protocol.MsgFrame
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, m := range p.msgs {
			if strings.Contains(m.Content, want) {
				got = m
				return true
			}
		}
		return false
	}, waitTimeout, 10*time.Millisecond, "peer never got %q", want)
	return got
}

// countContent counts the messages the peer got with exactly this content.
func (p *peer) countContent(content string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.msgs {
		if m.Content == content {
			n++
		}
	}
	return n
}

// waitJoined waits until an agent named name is in #general.
func (p *peer) waitJoined(t *testing.T, name string) string {
	t.Helper()
	var id string
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		agents, err := p.ListAgents(ctx, "#general")
		if err != nil {
			return false
		}
		for _, a := range agents {
			if a.Name == name {
				id = a.ID
				return true
			}
		}
		return false
	}, waitTimeout, 50*time.Millisecond, "%s never joined #general", name)
	return id
}

// baseConfig is a runner Config for agent name on url with a fresh home
// and a short settle window.
func baseConfig(t *testing.T, url, name string, b runner.Backend) runner.Config {
	return runner.Config{Name: name, Mission: "Answer every message briefly.", URL: url, Home: t.TempDir(),
		Backend: b, ListenWait: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		MCP:    func(c *mcp.Config) { c.Settle = 50 * time.Millisecond }}
}

// runAsync runs a session in the background; the returned func stops it
// (if it still runs) and returns Run's error.
func runAsync(t *testing.T, cfg runner.Config) (stop func() error, done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	var err error
	go func() {
		defer close(ch)
		err = runner.Run(ctx, cfg)
	}()
	var once sync.Once
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case <-ch:
			case <-time.After(waitTimeout):
				t.Error("runner did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop, ch
}

// waitEnd waits for a session to end by itself.
func waitEnd(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("session did not end")
	}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "backend.sh")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755))
	return path
}

// transcript reads an agent's transcript entries.
func transcript(t *testing.T, cfg runner.Config) []runner.Entry {
	t.Helper()
	dir := cfg.StateDir
	if dir == "" {
		dir = runner.AgentDir(cfg.Home, cfg.Name)
	}
	data, err := os.ReadFile(filepath.Join(dir, "transcript.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	return runner.ParseTranscript(data)
}
