package p2p

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// logBuffer collects JSON log lines for a test to read while hosts write.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

// withJSONLog sends a host's logs, at Debug, to b.
func withJSONLog(b *logBuffer) func(*Config) {
	return func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// duplicateKey returns a top-level key that occurs twice in the JSON
// object line, or "".
func duplicateKey(t *testing.T, line string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	_, err := dec.Token() // {
	require.NoError(t, err, line)
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err, line)
		key := tok.(string)
		if seen[key] {
			return key
		}
		seen[key] = true
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip), line)
	}
	return ""
}

// Every JSON log line of a host names each key once: GossipSub's lines say
// component=gossipsub, not component=p2p and then component=gossipsub.
func TestJSONLogsHaveNoDuplicateKeys(t *testing.T) {
	var logs logBuffer
	a, b := newHost(t, withJSONLog(&logs)), newHost(t, withJSONLog(&logs))
	connect(t, a, b)
	require.Eventually(t, func() bool { return strings.Contains(strings.Join(logs.lines(), "\n"), `"component":"gossipsub"`) },
		10*time.Second, 20*time.Millisecond, "gossipsub logs its new peer at Debug")
	for _, line := range logs.lines() {
		require.Empty(t, duplicateKey(t, line), "duplicate key in %s", line)
	}
}

// A kept peer that cannot be reached is a Warn once, naming the time of
// the next try; the retries after it are Debug.
func TestUnreachablePeerWarnsOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close()) // nobody listens there now
	pub, _ := newKey(t)
	id, err := PeerIDFromKey(pub)
	require.NoError(t, err)
	addr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", closed, id)

	var logs logBuffer
	h := newHost(t, withJSONLog(&logs), func(c *Config) {
		c.Peers = []string{addr}
		c.ReconnectMin, c.ReconnectMax = 10*time.Millisecond, 40*time.Millisecond
	})
	runHost(t, h)
	count := func(msg string) (n int, last map[string]any) {
		for _, line := range logs.lines() {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg && m["peer"] == id {
				n, last = n+1, m
			}
		}
		return n, last
	}
	require.Eventually(t, func() bool { n, _ := count("redial failed"); return n >= 3 },
		20*time.Second, 20*time.Millisecond, "the keeper keeps retrying")
	n, warn := count("kept peer unreachable; will retry")
	require.Equal(t, 1, n)
	require.Equal(t, "WARN", warn["level"])
	at, err := time.Parse(time.RFC3339, warn["retry_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), at, time.Minute)
	require.NotEmpty(t, warn["retry_in"])
}
