package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/agent/mcp"
)

// session is one run of an agent: what Run builds and its loop uses.
type session struct {
	cfg     Config
	log     *slog.Logger
	num     int
	agentID string
	tr      *transcript
	g       *guards
	tools   *toolbox
	system  string
	mcpCLI  bool   // the backend is a command with its own MCP connection
	toolsID string // that connection's agent id, once it connected
}

// Run runs one session of the agent in cfg until ctx ends (nil: a clean
// stop), a guard ends it (*EndError) or it fails. Either way session.json
// records how it ended, and the transcript keeps what was said for the
// next session. A configuration error wraps ErrConfig.
func Run(ctx context.Context, cfg Config) (err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("%w: state dir: %v", ErrConfig, err)
	}
	s := &session{cfg: cfg, log: cfg.Logger.With("component", "runner", "agent", cfg.Name)}
	// The lock comes first: a refused runner must not touch the files of
	// the one that runs.
	lock, err := daemon.LockPidFile(filepath.Join(cfg.StateDir, PidFile), s.log)
	if err != nil {
		if errors.Is(err, daemon.ErrAlreadyRunning) {
			return fmt.Errorf("%w: agent %s already has a runner: %v", ErrBusy, cfg.Name, err)
		}
		return err
	}
	defer lock.Release()
	state := Session{PID: os.Getpid(), StartedAt: stamp(cfg.Now())}
	// From here on every end, an early failure too, is in session.json.
	defer func() {
		state.EndedAt = stamp(cfg.Now())
		state.EndedBy = endReason(err)
		if err != nil {
			state.Error = err.Error()
		}
		if s.g != nil {
			state.Tokens, state.Sends, state.ToolCalls = s.g.counts()
		}
		state.AgentID = s.agentID
		if werr := state.write(cfg.StateDir); werr != nil {
			s.log.Warn("write session state", "err", werr)
		}
		if s.tr != nil {
			s.note(fmt.Sprintf("session %d ended: %s", s.num, state.EndedBy))
		}
		s.log.Info("session ended", "session", s.num, "reason", state.EndedBy, "err", err)
	}()
	if s.num, err = nextSession(cfg.StateDir); err != nil {
		return err
	}
	state.Num = s.num
	if s.tr, err = openTranscript(cfg.StateDir, cfg.TranscriptKeep); err != nil {
		return err
	}
	if err := state.write(cfg.StateDir); err != nil {
		return fmt.Errorf("write %s: %w", SessionFile, err)
	}
	if cli, ok := cfg.Backend.(*CLI); ok {
		if err := cli.prepare(cfg); err != nil {
			return err
		}
	}
	s.g = newGuards(cfg.Guards, cfg.Now)

	sctx, cancel := withLimit(ctx, time.Duration(cfg.Guards.Timeout))
	defer cancel()
	err = s.run(sctx)
	switch {
	case ctx.Err() != nil:
		return nil // asked to stop
	case sctx.Err() != nil:
		return &EndError{Reason: EndTimeout, Detail: fmt.Sprintf("session ran %s", time.Duration(cfg.Guards.Timeout))}
	}
	return err
}

// withLimit bounds ctx by d, or only makes it cancelable when the guard
// is off (d <= 0).
func withLimit(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// endReason is session.json's ended_by for Run's result.
func endReason(err error) string {
	var end *EndError
	switch {
	case err == nil:
		return EndStopped
	case errors.As(err, &end):
		return end.Reason
	case errors.Is(err, ErrConfig):
		return EndFatal
	default:
		return EndCrash
	}
}

// run connects and alternates turns and waits until ctx ends or a guard
// or failure ends the session.
func (s *session) run(ctx context.Context) error {
	srv, err := mcp.New(s.cfg.serverConfig())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	s.tools, err = openToolbox(ctx, srv, s.g, func(e Entry) { s.record(e) })
	if err != nil {
		return err
	}
	defer s.tools.close()
	var connected struct {
		AgentID  string   `json:"agent_id"`
		Channels []string `json:"channels"`
	}
	if err := s.tools.callJSON(ctx, "agentchat_connect",
		map[string]any{"name": s.cfg.Name, "channels": s.cfg.Channels}, &connected); err != nil {
		return err
	}
	s.agentID = connected.AgentID
	tools := toolsDirect
	if cli, ok := s.cfg.Backend.(*CLI); ok {
		tools = toolsNone
		if len(cli.MCPCommand) > 0 {
			tools, s.mcpCLI = toolsMCP, true
		}
	}
	s.system = systemText(s.cfg.Name, s.agentID, s.cfg.Mission, s.cfg.Channels, tools)
	s.log.Info("session started", "session", s.num, "agent_id", s.agentID, "node", s.cfg.URL, "channels", connected.Channels)
	s.note(fmt.Sprintf("session %d started as %s", s.num, s.agentID))

	// The opening turn (the agent may start something) sees the channel
	// history the node replayed on join, and any message that came with it.
	fresh, err := s.history(ctx)
	if err != nil {
		return err
	}
	for {
		if err := s.turn(ctx, fresh); err != nil {
			return err
		}
		if fresh, err = s.wait(ctx); err != nil {
			return err
		}
	}
}

// turn runs the backend on the new messages and sends its answer.
func (s *session) turn(ctx context.Context, fresh []Entry) error {
	t := Turn{System: s.system, Prompt: promptText(s.tr.tail(s.cfg.MaxTranscript), fresh, s.num)}
	for _, e := range fresh {
		s.record(e)
	}
	tctx, cancel := withLimit(ctx, time.Duration(s.cfg.Guards.Stall))
	defer cancel()
	reply, err := s.cfg.Backend.Turn(tctx, t, s.tools)
	if serr := s.g.spend(reply.Tokens); serr != nil {
		return serr
	}
	if s.mcpCLI {
		if gerr := s.takeToolCalls(); gerr != nil {
			return gerr
		}
	}
	if err != nil {
		if ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
			return &EndError{Reason: EndStall, Detail: fmt.Sprintf("a backend turn took more than %s", time.Duration(s.cfg.Guards.Stall))}
		}
		return err
	}
	text := strings.TrimSpace(reply.Text)
	if silent(text) {
		return nil
	}
	target := replyTarget(fresh, s.cfg.Channels[0])
	if err := s.g.send(); err != nil {
		return err
	}
	// Recorded before it is sent: a session stopped while the send is in
	// flight still remembers it (a failure is noted after).
	s.record(Entry{Kind: KindOut, To: target, Content: text})
	out, isErr, err := s.tools.call(ctx, sendTool, map[string]any{"target": target, "message": text})
	if err != nil {
		s.record(Entry{Kind: KindTool, To: sendTool, Content: "the send to " + target + " may have failed: " + err.Error()})
		return err
	}
	if isErr {
		s.log.Warn("send failed", "target", target, "err", out)
		s.record(Entry{Kind: KindTool, To: sendTool, Content: "the send to " + target + " failed: " + out})
	}
	return nil
}

// silent reports whether an answer says nothing: empty, or PASS in any
// case with trailing punctuation ("Pass.").
func silent(text string) bool {
	return text == "" || strings.EqualFold(strings.TrimRight(text, ".! "), Pass)
}

// replyTarget is where a text answer goes: the newest message's channel,
// or its sender for a direct message or a marketplace event; def on a
// turn without messages.
func replyTarget(fresh []Entry, def string) string {
	if len(fresh) == 0 {
		return def
	}
	e := fresh[len(fresh)-1]
	if strings.HasPrefix(e.To, "#") {
		return e.To
	}
	return e.From
}

// wait blocks until messages arrive for the agent and returns them as
// entries, or fails when ctx ends or dead air ends the session. Replayed
// history (a channel joined later) is recorded, not returned.
func (s *session) wait(ctx context.Context) ([]Entry, error) {
	for {
		wait := s.cfg.ListenWait
		if quiet := s.g.quietUntil(); !quiet.IsZero() {
			left := quiet.Sub(s.cfg.Now())
			if left <= 0 {
				return nil, &EndError{Reason: EndDeadAir, Detail: fmt.Sprintf("nothing in or out for %s", time.Duration(s.cfg.Guards.DeadAir))}
			}
			wait = min(wait, left)
		}
		var res listenResult
		if err := s.tools.callJSON(ctx, "agentchat_listen",
			map[string]any{"channels": s.cfg.Channels, "max_wait_s": max(wait.Seconds(), 0.001)}, &res); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if out := s.sortOut(res.Messages); len(out) > 0 {
			s.g.heard()
			return out, nil
		}
	}
}

// listenResult is what the runner reads of agentchat_listen's result.
type listenResult struct {
	Messages []mcp.Message `json:"messages"`
}

// history takes what the node replayed when the session joined its
// channels (agentchat_listen's tail form, which returns at once) into the
// transcript, and returns the live messages among it.
func (s *session) history(ctx context.Context) ([]Entry, error) {
	var res listenResult
	if err := s.tools.callJSON(ctx, "agentchat_listen",
		map[string]any{"channels": s.cfg.Channels, "tail": mcp.MaxListenMessages}, &res); err != nil {
		return nil, err
	}
	return s.sortOut(res.Messages), nil
}

// sortOut records replayed channel history the transcript does not have
// yet (context, not a question: a restarted session gets it again) and
// returns the other messages as entries. What the agent's own tools
// connection said is neither: its calls are in the transcript already.
func (s *session) sortOut(msgs []mcp.Message) []Entry {
	var out []Entry
	for _, m := range msgs {
		if s.toolsID != "" && m.From == s.toolsID {
			continue
		}
		e := Entry{TS: m.TS, Kind: KindIn, From: m.From, To: m.To, Name: m.FromName, Content: m.Content}
		switch {
		case !m.Replay:
			out = append(out, e)
		case !s.tr.has(e):
			s.record(e)
		}
	}
	return out
}

// record appends e to the transcript; a failed write is logged, not fatal
// (the session goes on, the next one has less context).
func (s *session) record(e Entry) {
	if err := s.tr.add(e); err != nil {
		s.log.Warn("transcript", "err", err)
	}
}

// note records a session event.
func (s *session) note(text string) { s.record(Entry{Kind: KindSession, Content: text}) }
