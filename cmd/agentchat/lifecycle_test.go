package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/testnet"
)

var (
	binOnce sync.Once
	binPath string // in binDir, which TestMain removes
	binDir  string
	binErr  error
)

// removeTestBinary deletes the shared build; TestMain calls it last.
func removeTestBinary() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// agentchatBin builds the binary once for the tests that run it as a
// process (signals, exit codes).
func agentchatBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "agentchat-bin")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "agentchat")
		// -buildvcs=auto stamps the revision where git is there (GOFLAGS may
		// say false), so `version` can be checked against it.
		build := exec.Command("go", "build", "-buildvcs=auto", "-o", binPath, ".")
		build.Stderr = os.Stderr
		binErr = build.Run()
	})
	require.NoError(t, binErr)
	return binPath
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// jsonLines returns the JSON log lines of out whose msg is msg.
func jsonLines(out, msg string) []map[string]any {
	var found []map[string]any
	for line := range strings.SplitSeq(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			found = append(found, m)
		}
	}
	return found
}

// identifyEphemeral connects to ws and returns the type of the answer to
// an ephemeral IDENTIFY (WELCOME or ERROR) and the error code, if any.
func identifyEphemeral(t *testing.T, ctx context.Context, ws string) (string, string) {
	t.Helper()
	a, err := testnet.Dial(ctx, ws)
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.Send(map[string]any{"type": "IDENTIFY", "name": "probe"}))
	f, err := a.Next(ctx, "WELCOME", "ERROR")
	require.NoError(t, err)
	return f.Type, f.String("code")
}

// SIGHUP re-reads the config file: the log level, the allowlist mode, the
// honoured ban operators and the bootstrap peers (config or peers file,
// added and removed) apply without a restart, and the node logs what
// changed. SIGTERM then stops it cleanly (exit 0).
func TestNodeReloadsOnSIGHUP(t *testing.T) {
	bin := agentchatBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir, port, metricsPort := t.TempDir(), freePort(t), freePort(t)
	cfgPath := filepath.Join(t.TempDir(), "node.toml")
	write := func(extra string) {
		require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(
			"log-format = \"json\"\nlisten = \"127.0.0.1:%d\"\np2p-listen = [\"/ip4/127.0.0.1/tcp/0\"]\nlocal = true\nmetrics-listen = \"127.0.0.1:%d\"\n%s",
			port, metricsPort, extra)), 0o600))
	}
	write("log-level = \"info\"\n")

	var stderr lockedBuffer
	cmd := exec.Command(bin, "node", "--config", cfgPath, "--data-dir", dir)
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		t.Logf("node stderr:\n%s", stderr.String())
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}, 30*time.Second, 50*time.Millisecond)
	ws := fmt.Sprintf("ws://127.0.0.1:%d", port)
	typ, _ := identifyEphemeral(t, ctx, ws)
	require.Equal(t, "WELCOME", typ)
	// --metrics-listen serves the same registry on its own port.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(body), "agentchat_frames_in_total{type=\"IDENTIFY\"} 1")

	// A peer to add: an in-process node, listed in the data dir's peers file.
	peer, err := testnet.StartNode(ctx, testnet.LocalNodeConfig(t.TempDir()))
	require.NoError(t, err)
	defer func() { require.NoError(t, peer.Close()) }()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "peers"), []byte(peer.Host.Addrs()[0]+"\n"), 0o600))
	write("log-level = \"debug\"\nallowlist-strict = true\n")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))

	require.Eventually(t, func() bool { return len(jsonLines(stderr.String(), "configuration reloaded")) == 1 },
		20*time.Second, 50*time.Millisecond)
	line := jsonLines(stderr.String(), "configuration reloaded")[0]
	require.ElementsMatch(t, []any{"log-level", "allowlist", "peer"}, line["changed"])
	require.Equal(t, "DEBUG", line["log_level"])
	require.Equal(t, true, line["allowlist_strict"])

	typ, code := identifyEphemeral(t, ctx, ws)
	require.Equal(t, "ERROR", typ, "strict allowlist after the reload refuses ephemeral agents")
	require.Equal(t, "NOT_ALLOWED", code)
	require.Eventually(t, func() bool { return len(peer.Host.Peers()) == 1 }, 30*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(stderr.String(), `"level":"DEBUG"`)
	}, 20*time.Second, 50*time.Millisecond, "debug lines once the level is debug")

	// A second reload honours an operator whose ban the node already holds,
	// and the peer gone from the peers file is no longer kept.
	opPub, opPriv, err := identity.GenerateKey()
	require.NoError(t, err)
	ban, err := identity.SignBan(opPriv, "0123456789abcdef", "spam", false, time.Now())
	require.NoError(t, err)
	honoured := func() any {
		resp, err := http.Get(base + "/bans")
		require.NoError(t, err)
		defer resp.Body.Close()
		var recs []map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&recs))
		require.Len(t, recs, 1)
		return recs[0]["honoured"]
	}
	resp, err = http.Post(base+"/bans", "application/json", bytes.NewReader(ban.Encode()))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, false, honoured())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "peers"), []byte("# none\n"), 0o600))
	write(fmt.Sprintf("log-level = \"debug\"\nallowlist-strict = true\nhonor-bans-from = [%q]\n", hex.EncodeToString(opPub)))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return len(jsonLines(stderr.String(), "configuration reloaded")) == 2 },
		20*time.Second, 50*time.Millisecond)
	line = jsonLines(stderr.String(), "configuration reloaded")[1]
	require.ElementsMatch(t, []any{"honor-bans-from", "peer"}, line["changed"])
	require.Equal(t, float64(1), line["peers_removed"])
	require.Equal(t, float64(0), line["peers"])
	require.Equal(t, true, honoured(), "the held ban is enforced once its operator is honoured")
	require.Len(t, jsonLines(stderr.String(), "peer no longer kept"), 1)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "SIGTERM is a clean shutdown")
	case <-time.After(30 * time.Second):
		t.Fatal("node did not stop on SIGTERM")
	}
	require.Len(t, jsonLines(stderr.String(), "node stopped"), 1)
	requireUniqueKeys(t, stderr.String()) // every line of a run at debug level, libp2p's too
}

// A websocket port in use is an error at start, before libp2p starts.
func TestNodeRefusesBusyWebsocketPort(t *testing.T) {
	bin := agentchatBin(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	cmd := exec.Command(bin, "node", "--local", "--data-dir", t.TempDir(), "--listen", l.Addr().String())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "node started on a busy port: %s", out)
	require.Contains(t, string(out), "--listen "+l.Addr().String())
	require.Contains(t, string(out), "already in use")
	require.NotContains(t, string(out), "p2p host started")
}

// A p2p port another node's libp2p host holds is refused, although
// libp2p's SO_REUSEPORT listener would let a second one bind it.
func TestNodeRefusesBusyP2PPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testnet.LocalNodeConfig(t.TempDir())
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	other, err := testnet.StartNode(ctx, cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, other.Close()) }()
	for _, addr := range other.Host.Addrs() {
		listen := strings.Split(addr, "/p2p/")[0]
		err := checkPortsFree("127.0.0.1:0", []string{listen})
		require.ErrorIs(t, err, errPortInUse, "%s", listen)
		require.Contains(t, err.Error(), "--p2p-listen "+listen)
	}
	require.NoError(t, checkPortsFree("127.0.0.1:0", []string{"/ip4/127.0.0.1/tcp/0", "/dns4/localhost/tcp/4001"}))
}
