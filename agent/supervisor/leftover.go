package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/agent/runner"
)

// clearLeftover makes sure no runner of the agent runs before the first
// start. A runner left by an earlier supervisor (killed where there is no
// parent-death signal, or still shutting down after one) holds runner.pid;
// it is stopped as the supervisor stops its own, SIGTERM to its process
// group and SIGKILL after the grace period (in container mode the
// container is removed instead, since the pid is the container's). It
// fails when the runner still holds the lock after that: two runners of
// one agent never run.
func (a *agent) clearLeftover(ctx context.Context) error {
	a.removeContainer()
	path := filepath.Join(a.dir, runner.PidFile)
	pid, held := daemon.LockHolder(path)
	if !held {
		return nil
	}
	a.log.Warn("a runner left by an earlier supervisor is still running; stopping it", "pid", pid)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if a.s.cfg.Container == nil {
			signalRunner(pid, sig)
		}
		if a.released(ctx, path) {
			a.log.Info("the earlier runner stopped", "pid", pid)
			return nil
		}
	}
	return fmt.Errorf("%w: the runner an earlier supervisor left (pid %d) did not stop", ErrBusy, pid)
}

// signalRunner signals a live runner's process group, or the runner alone
// when it leads none (started by hand, or a system without groups).
func signalRunner(pid int, sig syscall.Signal) {
	if daemon.SignalGroup(pid, sig) == nil {
		return
	}
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Signal(sig)
	}
}

// released waits up to the grace period, checking every Poll, for the pid
// file at path to have no live holder.
func (a *agent) released(ctx context.Context, path string) bool {
	deadline := time.Now().Add(time.Duration(a.s.cfg.Backoff.Grace))
	tick := time.NewTicker(a.s.cfg.Poll)
	defer tick.Stop()
	for {
		if _, held := daemon.LockHolder(path); !held {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
}

// cleanUp runs after a runner with this pid has exited: what it left in
// its process group is killed, and its container removed.
func (a *agent) cleanUp(pid int) {
	_ = daemon.SignalGroup(pid, syscall.SIGKILL)
	a.removeContainer()
}

// rmTimeout bounds one `<runtime> rm -f`.
const rmTimeout = 30 * time.Second

// removeContainer removes the agent's container, in container mode: the
// runtime's CLI (`docker run`) may die without its container, which would
// go on running and keep the name the next start needs. No container to
// remove is the usual case, logged at debug level.
func (a *agent) removeContainer() {
	c := a.s.cfg.Container
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), rmTimeout)
	defer cancel()
	out, err := c.remove(ctx, a.spec.Name)
	a.log.Debug("container removed", "container", containerName(a.spec.Name), "err", err, "output", out)
}
