package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/daemon"
)

// decode decodes one inbox line.
func decode(t testing.TB, line string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m), "line %q", line)
	return m
}

// findLine returns the first line of path for which match holds, or "".
func findLine(t testing.TB, path string, match func(map[string]any) bool) string {
	for _, l := range lines(t, path) {
		if match(decode(t, l)) {
			return l
		}
	}
	return ""
}

func TestInboxRecordsFramesAsReceived(t *testing.T) {
	n := startNode(t, noLimits)
	cfg := testConfig(t, n)
	cfg.Channels = []string{"#general", "#agents", "#nope"}
	r := startDaemon(t, cfg)
	inbox := r.path("inbox.jsonl")
	self := "@" + cfg.Identity.AgentID

	// The pid file names this process, in decimal without a newline.
	pid, err := os.ReadFile(r.path("daemon.pid"))
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(os.Getpid()), string(pid))

	bob := dial(t, n, client.Options{Name: "bob", RawEvents: true})
	_, err = bob.Join(ctxT(t), "#general")
	require.NoError(t, err)
	require.NoError(t, bob.Send(ctxT(t), "#general", "hello <daemon> & all"))
	require.NoError(t, bob.Send(ctxT(t), self, "direct hi"))

	var msg string
	waitFor(t, func() bool {
		msg = findLine(t, inbox, func(m map[string]any) bool { return m["content"] == "hello <daemon> & all" })
		return msg != "" && findLine(t, inbox, func(m map[string]any) bool { return m["content"] == "direct hi" }) != ""
	}, "both messages in the inbox")
	require.True(t, strings.HasPrefix(msg, `{"type":"MSG","ts":`), "the frame as received: %s", msg)
	require.Contains(t, msg, `"hello <daemon> & all"`, "no re-encoding: no HTML escaping")
	m := decode(t, msg)
	require.Equal(t, bob.AgentID(), m["from"])
	require.Equal(t, "#general", m["to"])
	require.NotEmpty(t, m["msg_id"])

	joined := findLine(t, inbox, func(m map[string]any) bool { return m["type"] == "AGENT_JOINED" && m["agent"] == bob.AgentID() })
	require.NotEmpty(t, joined, "AGENT_JOINED of bob is in the inbox:\n%s", strings.Join(lines(t, inbox), "\n"))

	nd, err := os.ReadFile(r.path("newdata"))
	require.NoError(t, err)
	ms, err := strconv.ParseInt(string(nd), 10, 64)
	require.NoError(t, err, "newdata is ms in decimal: %q", nd)
	require.InDelta(t, time.Now().UnixMilli(), ms, float64(waitTimeout.Milliseconds()))

	// The channel that does not exist is logged once and skipped.
	waitFor(t, func() bool {
		return strings.Contains(logText(t, r), "channel refused; skipped channel=#nope")
	}, "the #nope refusal in daemon.log")
	time.Sleep(3 * cfg.PollInterval) // passes that must not log it again
	require.Equal(t, 1, strings.Count(logText(t, r), "channel refused"))
	require.Regexp(t, `(?m)^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] \[INFO\] connected agent=@[0-9a-f]{16} url=ws://`, logText(t, r))

	info, err := daemon.Status(cfg.BaseDir, cfg.Instance)
	require.NoError(t, err)
	require.True(t, info.Running)
	require.Equal(t, os.Getpid(), info.PID)
	require.Equal(t, self, info.AgentID)
	require.ElementsMatch(t, []string{"#general", "#agents"}, info.Channels)

	require.NoError(t, r.stop(t))
	_, err = os.Stat(r.path("daemon.pid"))
	require.True(t, os.IsNotExist(err), "the pid file is removed on a clean stop")
	info, err = daemon.Status(cfg.BaseDir, cfg.Instance)
	require.NoError(t, err)
	require.False(t, info.Running)
	require.False(t, info.Connected)
}

// A JOIN's replay is recorded once: a restarted daemon does not record the
// history again.
func TestInboxReplayRecordedOnce(t *testing.T) {
	n := startNode(t, noLimits)
	bob := dial(t, n, client.Options{Name: "bob"})
	_, err := bob.Join(ctxT(t), "#general")
	require.NoError(t, err)
	require.NoError(t, bob.Send(ctxT(t), "#general", "before the daemon"))

	cfg := testConfig(t, n)
	cfg.Channels = []string{"#general"}
	r := startDaemon(t, cfg)
	inbox := r.path("inbox.jsonl")
	waitFor(t, func() bool { return len(lines(t, inbox)) == 1 }, "the replayed message")
	require.Equal(t, true, decode(t, lines(t, inbox)[0])["replay"])
	require.NoError(t, r.stop(t))

	r2 := startDaemon(t, cfg)
	require.NoError(t, bob.Send(ctxT(t), "#general", "after the restart"))
	waitFor(t, func() bool { return len(lines(t, inbox)) >= 2 }, "the live message")
	got := lines(t, inbox)
	require.Len(t, got, 2, "the replay was not recorded again: %v", got)
	require.Equal(t, "after the restart", decode(t, got[1])["content"])
	require.NoError(t, r2.stop(t))
}

func TestInboxKeepsLast1000Lines(t *testing.T) {
	n := startNode(t, noLimits)
	bob := dial(t, n, client.Options{Name: "bob"})
	_, err := bob.Join(ctxT(t), "#general")
	require.NoError(t, err)

	cfg := testConfig(t, n)
	cfg.Channels = []string{"#general"}
	dir := daemon.InstanceDir(cfg.BaseDir, cfg.Instance)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	var old strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&old, `{"type":"MSG","msg_id":"old-%d","content":"old %d"}`+"\n", i, i)
	}
	inbox := dir + "/inbox.jsonl"
	require.NoError(t, os.WriteFile(inbox, []byte(old.String()), 0o600))

	r := startDaemon(t, cfg)
	for i := range 5 {
		require.NoError(t, bob.Send(ctxT(t), "#general", fmt.Sprintf("new %d", i)))
	}
	waitFor(t, func() bool {
		ls := lines(t, inbox)
		return len(ls) > 0 && strings.Contains(ls[len(ls)-1], `"new 4"`)
	}, "the last message")
	got := lines(t, inbox)
	require.Equal(t, 1000, len(got))
	require.Equal(t, "old 5", decode(t, got[0])["content"], "the five oldest lines went")
	for i := range 5 {
		require.Equal(t, fmt.Sprintf("new %d", i), decode(t, got[995+i])["content"])
	}
	// The daemon rewrites newdata right after the inbox: stop it before
	// looking for temp files, or its last rename may still be under way.
	require.NoError(t, r.stop(t))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".tmp", "no temp file is left behind")
	}
}

// logText returns daemon.log.
func logText(t testing.TB, r *running) string {
	t.Helper()
	b, err := os.ReadFile(r.path("daemon.log"))
	require.NoError(t, err)
	return string(b)
}
