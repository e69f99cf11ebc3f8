package daemon

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSanitizeInstance(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "default"},
		{"worker-1_a", "worker-1_a"},
		{"../../etc", "etc"},
		{"a b/c", "abc"},
		{"ünï", "n"},
		{"///", "default"},
	} {
		t.Run(tc.in, func(t *testing.T) { require.Equal(t, tc.want, SanitizeInstance(tc.in)) })
	}
	require.Equal(t, filepath.Join("/base", "x"), InstanceDir("/base", "x!"))
}

// The §20 delay: min(2000 × 2^(n−1), 60000) ms + 0–999 ms.
func TestBackoff(t *testing.T) {
	lo, hi := 2*time.Second, 60*time.Second
	for _, tc := range []struct {
		n    int
		base time.Duration
	}{
		{1, 2 * time.Second}, {2, 4 * time.Second}, {3, 8 * time.Second}, {5, 32 * time.Second},
		{6, 60 * time.Second}, {40, 60 * time.Second}, {1000, 60 * time.Second},
	} {
		for range 50 {
			d := backoff(tc.n, lo, hi)
			require.GreaterOrEqual(t, d, tc.base, "attempt %d", tc.n)
			require.Less(t, d, tc.base+time.Second, "attempt %d", tc.n)
		}
	}
}

func TestLogLineFormat(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newLogHandler(&buf, slog.LevelInfo)).With("component", "x")
	log.Debug("hidden")
	log.Info("joined", "channel", "#general", "err", "a b")
	log.WithGroup("g").Warn("two\nlines", "k", "")
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, got, 2)
	require.Regexp(t, `^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] \[INFO\] joined component=x channel=#general err="a b"$`, got[0])
	require.Regexp(t, `^\[[^]]+\] \[WARN\] two\\nlines component=x g\.k=""$`, got[1])
}

func TestReceiptsForOwnCompletes(t *testing.T) {
	dir := t.TempDir()
	in, err := openInbox(dir, 10)
	require.NoError(t, err)
	in.setSelf("@aaaaaaaaaaaaaaaa")
	mine := `{"type":"COMPLETE","ts":1,"proposal_id":"prop_1","status":"completed","from":"@bbbbbbbbbbbbbbbb","to":"@aaaaaaaaaaaaaaaa","completed_by":"@bbbbbbbbbbbbbbbb","proof":"x <y>"}`
	viaProposal := `{"type":"COMPLETE","proposal_id":"prop_2","proposal":{"from":"@aaaaaaaaaaaaaaaa","to":"@cccccccccccccccc"}}`
	other := `{"type":"COMPLETE","proposal_id":"prop_3","from":"@bbbbbbbbbbbbbbbb","to":"@cccccccccccccccc"}`
	for _, f := range []string{mine, viaProposal, other} {
		require.NoError(t, in.record("COMPLETE", []byte(f)))
	}
	inbox, err := os.ReadFile(filepath.Join(dir, inboxFile))
	require.NoError(t, err)
	require.Equal(t, mine+"\n"+viaProposal+"\n"+other+"\n", string(inbox), "every COMPLETE is in the inbox")

	receipts := strings.Split(strings.TrimSuffix(readFile(t, filepath.Join(dir, receiptsFile)), "\n"), "\n")
	require.Len(t, receipts, 2, "only the agent's own")
	require.True(t, strings.HasPrefix(receipts[0], strings.TrimSuffix(mine, "}")+`,"stored_at":`), receipts[0])
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(receipts[1]), &r))
	require.Equal(t, "prop_2", r["proposal_id"])
	require.InDelta(t, float64(time.Now().UnixMilli()), r["stored_at"], 60_000)
}

func TestInboxSkipsOtherFrames(t *testing.T) {
	dir := t.TempDir()
	in, err := openInbox(dir, 10)
	require.NoError(t, err)
	require.NoError(t, in.record("PRESENCE_CHANGED", []byte(`{"type":"PRESENCE_CHANGED"}`)))
	require.NoError(t, in.record("MSG", []byte("{\"type\":\"MSG\",\n\"content\":\"a\"}")))
	require.Equal(t, `{"type":"MSG","content":"a"}`+"\n", readFile(t, filepath.Join(dir, inboxFile)),
		"a frame with a newline inside is compacted to one line")
}

func TestWithStoredAt(t *testing.T) {
	got, err := withStoredAt([]byte(` {"a":1} `), "5")
	require.NoError(t, err)
	require.Equal(t, `{"a":1,"stored_at":5}`, string(got))
	got, err = withStoredAt([]byte(`{}`), "5")
	require.NoError(t, err)
	require.Equal(t, `{"stored_at":5}`, string(got))
	_, err = withStoredAt([]byte(`[1]`), "5")
	require.Error(t, err)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
