package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agentchat/mesh/agent/daemon"
)

// childEnv, when set, makes the test binary run one daemon instead of the
// tests: the Status/Stop and StartBackground tests need a daemon in another
// process to signal. Its value is a childConfig in JSON.
const childEnv = "AGENTCHAT_DAEMON_TEST_CHILD"

type childConfig struct {
	URL, BaseDir, Instance string
}

// TestMain fails the package if a test leaves a goroutine behind. The one
// exception is goleveldb's mpoolDrain, which belongs to the test node's
// datastore: DB.Close does not wait for it (see node/main_test.go).
func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(runChild(v))
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}

// runChild runs a daemon until SIGTERM, as `agentchat daemon` does.
func runChild(v string) int {
	var cc childConfig
	if err := json.Unmarshal([]byte(v), &cc); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	d, err := daemon.New(daemon.Config{URL: cc.URL, BaseDir: cc.BaseDir, Instance: cc.Instance,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		MaxReconnectTime: 2 * time.Second, PollInterval: 50 * time.Millisecond})
	if err == nil {
		err = d.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemon:", err)
		return 1
	}
	return 0
}
