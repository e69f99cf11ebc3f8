package runner_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/agentchat/mesh/agent/mcp"
)

// mcpServerEnv, set to "1", makes the test binary serve MCP on stdio as
// `agentchat mcp` does, for cli backends that use their own MCP
// connection.
const mcpServerEnv = "RUNNER_TEST_MCP_SERVER"

// TestMain fails the package if a test leaves a goroutine behind (goleveldb's
// mpoolDrain belongs to the test node's datastore; see node/main_test.go).
func TestMain(m *testing.M) {
	if os.Getenv(mcpServerEnv) == "1" {
		os.Exit(serveMCP())
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
}

func serveMCP() int {
	cfg, err := mcp.ConfigFromEnv(os.Getenv)
	if err == nil {
		var srv *mcp.Server
		if srv, err = mcp.New(cfg); err == nil {
			err = srv.Run(context.Background(), os.Stdin, os.Stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
