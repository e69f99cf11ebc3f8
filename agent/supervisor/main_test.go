package supervisor_test

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/agent/runner"
)

// lockingRunnerEnv, set to "1", makes the test binary a stand-in for
// `agentchat run` that behaves as the real one does towards the
// supervisor: it holds $STATE_DIR/runner.pid with the runner's own lock,
// starts a child (sleep, its pid appended to $STATE_DIR/children) and
// exits 0 on SIGTERM.
const lockingRunnerEnv = "SUPERVISOR_TEST_RUNNER"

func TestMain(m *testing.M) {
	if os.Getenv(lockingRunnerEnv) == "1" {
		os.Exit(lockingRunner())
	}
	goleak.VerifyTestMain(m)
}

func lockingRunner() int {
	dir := os.Getenv("STATE_DIR")
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	lock, err := daemon.LockPidFile(filepath.Join(dir, runner.PidFile), slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return runner.ExitCrash
	}
	defer lock.Release()
	child := exec.Command("sleep", "600")
	if err := child.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return runner.ExitCrash
	}
	if err := appendLine(filepath.Join(dir, "children"), fmt.Sprint(child.Process.Pid)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return runner.ExitCrash
	}
	if err := appendLine(filepath.Join(dir, "starts"), fmt.Sprint(os.Getpid())); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return runner.ExitCrash
	}
	<-term
	return runner.ExitClean // the child is left behind, as a backend's could be
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
