package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startNodeProcess runs `agentchat node` from bin on dir, with extra
// flags, and waits for /health.
func startNodeProcess(t *testing.T, bin, dir string, port int, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--log-level", "warn", "node", "--local", "--data-dir", dir,
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--p2p-listen", "/ip4/127.0.0.1/tcp/0",
		"--min-proposal-age", "0"}, extra...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond)
	return cmd
}

// A node killed with SIGKILL right after a COMPLETE restarts with the
// receipt and the ratings: the receipt is synced to disk before any client
// hears of the settlement.
func TestReceiptSurvivesSIGKILL(t *testing.T) {
	bin := agentchatBin(t)
	port := freePort(t)
	dir := t.TempDir()

	first := startNodeProcess(t, bin, dir, port)
	alice, bob := settleOne(t, fmt.Sprintf("ws://127.0.0.1:%d", port))
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_ = first.Wait()

	second := startNodeProcess(t, bin, dir, port)
	defer func() { _ = second.Process.Signal(syscall.SIGTERM); _ = second.Wait() }()
	for _, id := range []string{alice, bob} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/reputation/%s", port, id))
		require.NoError(t, err)
		var r struct {
			Rating       float64 `json:"rating"`
			Transactions int     `json:"transactions"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
		resp.Body.Close()
		require.EqualValues(t, 1208, r.Rating, "rating of @%s after the restart", id)
		require.Equal(t, 1, r.Transactions)
	}
}
