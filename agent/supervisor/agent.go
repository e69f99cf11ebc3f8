package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/agent/runner"
)

// agent supervises one agent; run is its goroutine, which owns every field.
type agent struct {
	s     *Supervisor
	spec  runner.Spec
	dir   string
	log   *slog.Logger // to the supervisor's logger and supervisor.log
	logf  *os.File
	lock  *daemon.PidLock // supervisor.pid, held until run returns
	track *tracker
	state State
}

// newAgent prepares an agent's state directory: it takes the pid lock
// first (a refused supervisor writes nothing), then writes agent.json and
// removes a stop file left from an earlier stop.
func (s *Supervisor) newAgent(spec runner.Spec) (*agent, error) {
	dir := s.stateDir(spec)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	lock, err := daemon.LockPidFile(filepath.Join(dir, pidFile), s.log.With("agent", spec.Name))
	if errors.Is(err, daemon.ErrAlreadyRunning) {
		return nil, fmt.Errorf("%w: agent %s is already supervised: %v", ErrBusy, spec.Name, err)
	}
	if err != nil {
		return nil, err
	}
	a, err := s.prepare(spec, dir)
	if err != nil {
		lock.Release()
		return nil, err
	}
	a.lock = lock
	return a, nil
}

// prepare writes the agent's files once its pid lock is held.
func (s *Supervisor) prepare(spec runner.Spec, dir string) (*agent, error) {
	spec.StateDir = dir
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := runner.WriteFileAtomic(filepath.Join(dir, specFile), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("write %s: %w", specFile, err)
	}
	if err := os.Remove(filepath.Join(dir, StopFile)); err == nil {
		s.log.Info("removed an old stop file", "agent", spec.Name)
	}
	f, err := os.OpenFile(filepath.Join(dir, logFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logFile, err)
	}
	log := slog.New(fanout{s.log.Handler(), slog.NewTextHandler(f, nil)}).With("agent", spec.Name)
	return &agent{s: s, spec: spec, dir: dir, log: log, logf: f, track: newTracker(s.cfg.Backoff),
		state: State{AgentName: spec.Name, Mission: spec.Mission}}, nil
}

// run starts, watches and restarts the runner until ctx ends, the stop
// file appears, or the policy gives up.
func (a *agent) run(ctx context.Context) {
	defer a.lock.Release()
	defer a.logf.Close()
	if err := a.clearLeftover(ctx); err != nil {
		a.log.Error("runner not started", "err", err)
		a.set(StatusFailed, err.Error(), 0)
		return
	}
	for {
		if ctx.Err() != nil || a.stopRequested() {
			a.set(StatusStopped, "stopped on request", 0)
			return
		}
		a.state.StartedAt, a.state.PID = time.Now().UTC().Format(time.RFC3339), 0
		a.set(StatusStarting, a.state.LastError, 0)
		started := time.Now()
		code, stopped, err := a.once(ctx)
		uptime := time.Since(started)
		if stopped {
			a.state.PID = 0
			a.set(StatusStopped, "stopped on request", 0)
			a.log.Info("runner stopped", "uptime", uptime.Round(time.Millisecond))
			return
		}
		status, wait, again := a.track.ended(code, uptime)
		why := a.why(code, err)
		a.state.PID, a.state.RestartCount = 0, a.track.restarts
		a.set(status, why, wait)
		a.log.Warn("runner ended", "status", status, "code", code, "uptime", uptime.Round(time.Millisecond), "why", why,
			"restart_in", wait, "again", again)
		if !again {
			return
		}
		if !a.sleep(ctx, wait) {
			a.set(StatusStopped, "stopped on request", 0)
			return
		}
	}
}

// once runs the runner one time and returns its exit code, or stopped when
// the supervisor ended it (ctx or the stop file). err is set when it could
// not start.
func (a *agent) once(ctx context.Context) (code int, stopped bool, err error) {
	a.rotateLogs()
	cmd := a.command()
	out, err := os.OpenFile(filepath.Join(a.dir, runnerLogFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return -1, false, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return -1, false, fmt.Errorf("start runner: %w", err)
	}
	pid := cmd.Process.Pid
	defer a.cleanUp(pid)
	a.state.PID = pid
	a.set(StatusRunning, a.state.LastError, 0)
	a.log.Info("runner started", "pid", cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // ends when the process does; once waits for it below

	tick := time.NewTicker(a.s.cfg.Poll)
	defer tick.Stop()
	for {
		a.heartbeat()
		a.rotateLogs()
		select {
		case err := <-done:
			return exitCode(err), false, nil
		case <-ctx.Done():
			a.terminate(cmd, done)
			return 0, true, nil
		case <-tick.C:
			if a.stopRequested() {
				a.terminate(cmd, done)
				return 0, true, nil
			}
		}
	}
}

// terminate forwards SIGTERM to the runner's group and kills the group if
// the runner has not exited after the grace period; it returns once the
// process is gone.
func (a *agent) terminate(cmd *exec.Cmd, done <-chan error) {
	signalRunner(cmd.Process.Pid, syscall.SIGTERM)
	grace := time.NewTimer(time.Duration(a.s.cfg.Backoff.Grace))
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		a.log.Warn("runner ignored SIGTERM; killing it", "grace", time.Duration(a.s.cfg.Backoff.Grace))
		signalRunner(cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// command builds the runner's command: Config.Command, or the container
// invocation, with the runner's arguments and environment.
func (a *agent) command() *exec.Cmd {
	specPath := filepath.Join(a.dir, specFile)
	args := []string{"--home", a.s.cfg.Home, "--spec", specPath}
	argv := append(append([]string(nil), a.s.cfg.Command...), args...)
	if c := a.s.cfg.Container; c != nil {
		var extra []string
		if k := a.spec.Backend.KeyEnv; k != "" {
			extra = append(extra, k)
		}
		argv = c.command(a.spec.Name, a.dir, a.s.cfg.Home, args, extra)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "AGENT_NAME="+a.spec.Name, "STATE_DIR="+a.dir)
	if a.spec.Mission != "" {
		cmd.Env = append(cmd.Env, "MISSION="+a.spec.Mission)
	}
	if a.spec.URL != "" {
		cmd.Env = append(cmd.Env, "AGENTCHAT_URL="+a.spec.URL)
	}
	cmd.Dir = a.dir
	daemon.OwnGroup(cmd, syscall.SIGTERM) // the supervisor's death, even SIGKILL, stops the runner
	return cmd
}

// why describes how a run ended: the runner's own reason from
// session.json when that file is from this run, else the exit code.
func (a *agent) why(code int, err error) string {
	if err != nil {
		return err.Error()
	}
	if s, rerr := runner.ReadSession(a.dir); rerr == nil && s.PID == a.state.PID && s.EndedBy != "" {
		if s.Error != "" {
			return fmt.Sprintf("exit code %d: %s: %s", code, s.EndedBy, s.Error)
		}
		return fmt.Sprintf("exit code %d: %s", code, s.EndedBy)
	}
	return fmt.Sprintf("exit code %d", code)
}

// sleep waits d, or less if ctx ends or the stop file appears (false).
func (a *agent) sleep(ctx context.Context, d time.Duration) bool {
	wake := a.s.cfg.After(d)
	tick := time.NewTicker(a.s.cfg.Poll)
	defer tick.Stop()
	for {
		a.heartbeat()
		a.rotateLogs()
		select {
		case <-wake:
			return true
		case <-ctx.Done():
			return false
		case <-tick.C:
			if a.stopRequested() {
				return false
			}
		}
	}
}

// set records a status in state.json.
func (a *agent) set(status, lastError string, wait time.Duration) {
	a.state.Status, a.state.LastError, a.state.Backoff = status, lastError, wait.Seconds()
	if err := a.state.write(a.dir); err != nil {
		a.log.Error("write state", "err", err)
	}
}

func (a *agent) stopRequested() bool {
	_, err := os.Stat(filepath.Join(a.dir, StopFile))
	return err == nil
}

// heartbeat touches .heartbeat, so `status` can tell a live supervisor
// from a dead one.
func (a *agent) heartbeat() {
	path := filepath.Join(a.dir, heartbeatFile)
	now := time.Now()
	if err := os.Chtimes(path, now, now); errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(path, nil, 0o600)
	}
}

// exitCode is a Wait error's exit code; a signal death is a crash.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if c := exit.ExitCode(); c >= 0 {
			return c
		}
	}
	return runner.ExitCrash
}
