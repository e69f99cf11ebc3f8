package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	golog "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/gologshim"
	"github.com/stretchr/testify/require"
)

// libp2p's loggers of both kinds (go-libp2p's gologshim slog loggers and
// go-log's zap loggers) write JSON lines through our handler, at our
// level, and once with component=libp2p.
func TestLibp2pLogsRouted(t *testing.T) {
	var buf lockedBuffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	routeLibp2pLogs(h)

	gologshim.Logger("agentchat-test-slog").Info("from gologshim", "n", 1)
	gologshim.Logger("agentchat-test-slog").Debug("below the level")
	golog.Logger("agentchat-test-zap").Infow("from go-log", "n", 2)
	golog.Logger("agentchat-test-zap").Debugw("below the level")

	got := map[string]map[string]any{}
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		require.Equal(t, 1, strings.Count(line, `"component":`), line)
		got[m["msg"].(string)] = m
	}
	require.Len(t, got, 2, buf.String())
	for msg, sub := range map[string]string{"from gologshim": "agentchat-test-slog", "from go-log": "agentchat-test-zap"} {
		m := got[msg]
		require.NotNil(t, m, "%q missing in %s", msg, buf.String())
		require.Equal(t, "libp2p", m["component"])
		require.Equal(t, sub, m["logger"])
		require.Equal(t, "INFO", m["level"])
	}
	require.EqualValues(t, 1, got["from gologshim"]["n"])
	require.EqualValues(t, 2, got["from go-log"]["n"])
}
