package mcp_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// binDir holds the agentchat binary the stdio tests run; TestMain removes
// it.
var binDir string

// TestMain fails the package if a test leaves a goroutine behind. The one
// exception is goleveldb's mpoolDrain, which belongs to the test node's
// datastore: DB.Close does not wait for it (see node/main_test.go).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentchat-mcp-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
		goleak.Cleanup(func(code int) {
			_ = os.RemoveAll(dir)
			os.Exit(code)
		}))
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// agentchatBinary builds cmd/agentchat once per test run (with -race when
// the tests run with it, so the subprocess is checked too) and returns its
// path.
func agentchatBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "agentchat")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/agentchat/mesh/cmd/agentchat")
		buildOut, buildErr = exec.Command("go", args...).CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build cmd/agentchat: %v\n%s", buildErr, buildOut)
	}
	return binPath
}
