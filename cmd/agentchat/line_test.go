package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/testnet"
)

// TestLineOfNodeProcessesCarriesDMs runs `agentchat testnet --procs
// --topology line`: three `agentchat node` processes, each given only the
// previous one's --peer, as operators start them. Agents on the two ends
// DM each other.
func TestLineOfNodeProcessesCarriesDMs(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "agentchat")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	cmd := exec.Command(bin, "--log-level", "warn", "testnet", "--nodes", "3", "--topology", "line", "--procs",
		"--json", "--dir", t.TempDir())
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	})
	lines := make(chan string)
	go func() { // ends when the testnet exits and its stdout closes
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var mesh struct {
		Nodes []struct {
			WS string `json:"ws"`
		} `json:"nodes"`
	}
	deadline := time.After(90 * time.Second)
	for len(mesh.Nodes) == 0 {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "testnet exited before the mesh was ready")
			if strings.HasPrefix(l, `{"nodes":`) {
				require.NoError(t, json.Unmarshal([]byte(l), &mesh))
			}
		case <-deadline:
			t.Fatal("the mesh never became ready")
		}
	}
	go func() { // keep draining so the testnet never blocks on stdout
		for range lines {
		}
	}()
	require.Len(t, mesh.Nodes, 3)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, _ := dialKeyed(ctx, t, mesh.Nodes[0].WS, "alice")
	c, _ := dialKeyed(ctx, t, mesh.Nodes[2].WS, "carol")
	dm := func(from, to *testnet.Agent, content string) {
		t.Helper()
		// Until the roster has spread, the node answers AGENT_NOT_FOUND.
		require.Eventually(t, func() bool {
			if from.Send(map[string]any{"type": "MSG", "to": "@" + to.ID, "content": content}) != nil {
				return false
			}
			for {
				f, err := from.Next(ctx, "MSG", "ERROR")
				if err != nil || f.Type == "ERROR" {
					return false
				}
				if f.String("content") == content {
					return true // the sender's echo
				}
			}
		}, 30*time.Second, 1100*time.Millisecond)
		for {
			f, err := to.Next(ctx, "MSG")
			require.NoError(t, err, "%s never got %q", to.Name, content)
			if f.String("content") == content {
				require.Equal(t, "@"+from.ID, f.String("from"))
				return
			}
		}
	}
	dm(a, c, "from one end")
	dm(c, a, "to the other")
}
