package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/daemon"
)

// outLine is an outbox line to #general.
func outLine(content string) string {
	b, _ := json.Marshal(map[string]string{"to": "#general", "content": content})
	return string(b)
}

// requireOnceInOrder checks that got is exactly want: every line delivered
// once, in order.
func requireOnceInOrder(t *testing.T, want, got []string) {
	t.Helper()
	seen := map[string]int{}
	for _, c := range got {
		seen[c]++
	}
	for c, n := range seen {
		require.Equalf(t, 1, n, "%q delivered %d times", c, n)
	}
	require.Equal(t, want, got)
}

// requireBatchDone checks that no batch is pending.
func requireBatchDone(t *testing.T, r *running) {
	t.Helper()
	waitFor(t, func() bool {
		_, err1 := os.Stat(r.path("outbox.jsonl.sending"))
		_, err2 := os.Stat(r.path("outbox.jsonl.sending.pos"))
		return os.IsNotExist(err1) && os.IsNotExist(err2)
	}, "the batch files removed")
}

func TestOutboxDeliversEachLineOnceWhileAppended(t *testing.T) {
	n := startNode(t, noLimits)
	counter := dial(t, n, client.Options{Name: "counter"})
	_, err := counter.Join(ctxT(t), "#general")
	require.NoError(t, err)
	col := collect(t, counter)
	cfg := testConfig(t, n)
	cfg.MsgSpacing = 20 * time.Millisecond // passes last long enough to append during them
	r := startDaemon(t, cfg)
	from := "@" + cfg.Identity.AgentID
	outbox := r.path("outbox.jsonl")

	var want []string
	for i := range 80 {
		want = append(want, fmt.Sprintf("line %02d", i))
	}
	appendOutbox(t, outbox, lineList(want[:10])...)
	// The rest arrive one by one while the daemon takes and sends batches.
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, c := range want[10:] {
			appendOutbox(t, outbox, outLine(c))
			time.Sleep(3 * time.Millisecond)
		}
	})
	wg.Wait()
	waitFor(t, func() bool { return len(col.contents(from)) >= len(want) }, "every line delivered")
	requireBatchDone(t, r)
	time.Sleep(5 * cfg.PollInterval) // passes that must send nothing more
	requireOnceInOrder(t, want, col.contents(from))
	require.Empty(t, lines(t, outbox))
	require.NoFileExists(t, r.path("outbox.rejected.jsonl"))
	require.Greater(t, strings.Count(logText(t, r), "outbox batch taken"), 1,
		"lines were appended while a batch was being sent")
}

func lineList(contents []string) []string {
	var out []string
	for _, c := range contents {
		out = append(out, outLine(c))
	}
	return out
}

// Lines written while the node is down wait, and arrive once, in order,
// after it restarts on the same data dir and port.
func TestOutboxSurvivesNodeRestart(t *testing.T) {
	dir := t.TempDir()
	n1 := startNodeAt(t, dir, "127.0.0.1:0", noLimits)
	counter := dial(t, n1, client.Options{Name: "counter", Identity: newIdentity(t, "counter"), Reconnect: true,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond})
	_, err := counter.Join(ctxT(t), "#general")
	require.NoError(t, err)
	col := collect(t, counter)
	cfg := testConfig(t, n1)
	r := startDaemon(t, cfg)
	from := "@" + cfg.Identity.AgentID
	outbox := r.path("outbox.jsonl")

	appendOutbox(t, outbox, outLine("before 0"), outLine("before 1"))
	waitFor(t, func() bool { return len(col.contents(from)) == 2 }, "the lines sent before the restart")
	// Stop only once the daemon knows they arrived: a node that dies between
	// relaying a line and confirming it leaves the daemon no way to tell,
	// and it sends the line again (at least once, by design).
	requireBatchDone(t, r)

	require.NoError(t, n1.Stop())
	waitFor(t, func() bool {
		info, err := daemon.Status(cfg.BaseDir, cfg.Instance)
		return err == nil && !info.Connected
	}, "the daemon to see the node go")
	want := []string{"before 0", "before 1"}
	for i := range 5 {
		c := fmt.Sprintf("while down %d", i)
		want = append(want, c)
		appendOutbox(t, outbox, outLine(c))
		time.Sleep(cfg.PollInterval / 2)
	}
	startNodeAt(t, dir, n1.Addr, noLimits)
	waitFor(t, func() bool { return len(col.contents(from)) >= len(want) }, "the lines written while the node was down")
	requireBatchDone(t, r)
	time.Sleep(5 * cfg.PollInterval)
	requireOnceInOrder(t, want, col.contents(from))
	require.Contains(t, logText(t, r), "reconnected")
}

func TestOutboxRejectsInvalidLines(t *testing.T) {
	n := startNode(t, noLimits)
	counter := dial(t, n, client.Options{Name: "counter"})
	_, err := counter.Join(ctxT(t), "#general")
	require.NoError(t, err)
	col := collect(t, counter)
	cfg := testConfig(t, n)
	r := startDaemon(t, cfg)
	from := "@" + cfg.Identity.AgentID

	bad := []string{
		`not json`,
		`{"to":"#general"}`,
		`{"content":"no target"}`,
		`{"to":"general","content":"no sigil"}`,
		`{"to":"#nope","content":"no such channel"}`,
		`{"to":"@0123456789abcdef","content":"no such agent"}`,
	}
	appendOutbox(t, r.path("outbox.jsonl"), bad...)
	appendOutbox(t, r.path("outbox.jsonl"),
		fmt.Sprintf(`{"to":%q,"content":"direct"}`, counter.AgentID()),
		outLine("valid"))
	waitFor(t, func() bool { return len(col.contents(from)) == 2 }, "the valid lines")
	requireBatchDone(t, r)
	got := col.frames(from)
	require.Equal(t, "direct", got[0].Content)
	require.Equal(t, counter.AgentID(), got[0].To)
	require.Equal(t, "valid", got[1].Content)

	rejected := lines(t, r.path("outbox.rejected.jsonl"))
	require.Len(t, rejected, len(bad))
	reasons := []string{"invalid JSON", `missing "content"`, `missing "to"`, "must be a #channel or an @agent",
		"CHANNEL_NOT_FOUND", "AGENT_NOT_FOUND"}
	for i, l := range rejected {
		var rj struct {
			RejectedAt int64  `json:"rejected_at"`
			Reason     string `json:"reason"`
			Line       string `json:"line"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rj))
		require.Equal(t, bad[i], rj.Line)
		require.Contains(t, rj.Reason, reasons[i])
		require.NotZero(t, rj.RejectedAt)
	}
	require.Equal(t, len(bad), strings.Count(logText(t, r), "[WARN] outbox line rejected"))
}

// With the node's limits on, the daemon's spacing keeps every MSG at least
// a second apart; without the spacing, RATE_LIMITED lines are retried.
// Either way each line arrives once, in order.
func TestOutboxRespectsRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spacing time.Duration
	}{
		{"spaced", 0},   // the default 1.05 s
		{"retried", -1}, // no spacing: the node refuses, the daemon retries
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t)
			counter := dial(t, n, client.Options{Name: "counter"})
			_, err := counter.Join(ctxT(t), "#general")
			require.NoError(t, err)
			col := collect(t, counter)
			cfg := testConfig(t, n)
			cfg.MsgSpacing, cfg.RateLimit = tc.spacing, 0
			r := startDaemon(t, cfg)
			from := "@" + cfg.Identity.AgentID

			want := []string{"one", "two", "three"}
			appendOutbox(t, r.path("outbox.jsonl"), lineList(want)...)
			waitFor(t, func() bool { return len(col.contents(from)) >= len(want) }, "every line")
			requireBatchDone(t, r)
			requireOnceInOrder(t, want, col.contents(from))
			got := col.frames(from)
			for i := 1; i < len(got); i++ {
				require.GreaterOrEqual(t, got[i].TS-got[i-1].TS, int64(1000), "node times %d and %d", got[i-1].TS, got[i].TS)
			}
			limited := strings.Contains(logText(t, r), "rate limited")
			require.Equal(t, tc.spacing < 0, limited, "RATE_LIMITED seen only without spacing")
		})
	}
}

// A batch left by a daemon that stopped mid-way resumes at its recorded
// offset, before the newer outbox.jsonl; an unterminated last line is sent
// once the file has been quiet for a second.
func TestOutboxResumesBatch(t *testing.T) {
	n := startNode(t, noLimits)
	counter := dial(t, n, client.Options{Name: "counter"})
	_, err := counter.Join(ctxT(t), "#general")
	require.NoError(t, err)
	col := collect(t, counter)
	cfg := testConfig(t, n)
	dir := daemon.InstanceDir(cfg.BaseDir, cfg.Instance)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	batch := outLine("sent before the crash") + "\n" + outLine("resumed 1") + "\n" + outLine("resumed 2") + "\n"
	require.NoError(t, os.WriteFile(dir+"/outbox.jsonl.sending", []byte(batch), 0o600))
	off := len(outLine("sent before the crash")) + 1
	require.NoError(t, os.WriteFile(dir+"/outbox.jsonl.sending.pos", []byte(fmt.Sprint(off)), 0o600))
	require.NoError(t, os.WriteFile(dir+"/outbox.jsonl", []byte(outLine("newer")+"\n"+outLine("no newline")), 0o600))

	r := startDaemon(t, cfg)
	from := "@" + cfg.Identity.AgentID
	want := []string{"resumed 1", "resumed 2", "newer", "no newline"}
	waitFor(t, func() bool { return len(col.contents(from)) >= len(want) }, "the resumed lines")
	requireBatchDone(t, r)
	requireOnceInOrder(t, want, col.contents(from))
}
