package ui_test

import (
	"bytes"
	"context"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/testnet"
)

// chromium finds a Chromium binary; CI installs Debian's (.ci/run).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium binary on PATH: install it (Debian: apt-get install -y chromium) to run the browser test")
	return ""
}

// browser starts a headless Chromium for the test and returns its context.
func browser(t *testing.T, ctx context.Context) context.Context {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1100),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return bctx
}

// waitText polls the text of the element sel until ok accepts it.
func waitText(t *testing.T, ctx context.Context, sel, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var text string
	for time.Now().Before(deadline) {
		var err error
		text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		if ok(text) {
			return text
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("page never showed %s; %s reads %q", what, sel, text)
	return ""
}

func counter(s string) int {
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(s), ",", ""))
	if err != nil {
		return -1
	}
	return n
}

// The operator page, in a real browser on node 1 of a 2-node mesh, shows
// an agent that connects to node 0 and counts a message delivered here.
// UPDATE_SCREENSHOT=1 writes the page to docs/operator-page.png.
func TestOperatorPageInBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	bctx := browser(t, ctx)
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 2, Dir: t.TempDir(), Topology: testnet.Line,
		Tune: func(_ int, cfg *testnet.NodeConfig) {
			cfg.Node.Notices, cfg.Node.ServerName, cfg.Market.MinAge = false, "operator-demo", 0
		},
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	defer func() { require.NoError(t, net.Close()) }()
	n0, n1 := net.Nodes[0], net.Nodes[1]

	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(n1.HTTP()+"/ui"), chromedp.WaitVisible(chromedp.CSS("#remotes"))))
	waitText(t, bctx, "#state", "the page going live", func(s string) bool { return strings.HasPrefix(s, "live") })
	waitText(t, bctx, "#peers", "node 0 as a peer", func(s string) bool { return strings.Contains(s, n0.Host.ID()[:8]) })
	before := counter(waitText(t, bctx, "#c-msg-out .v", "the delivered count", func(s string) bool { return counter(s) >= 0 }))

	remote, err := testnet.Dial(ctx, n0.WS())
	require.NoError(t, err)
	defer remote.Close()
	_, err = remote.Identify(ctx, "far-away-agent", nil)
	require.NoError(t, err)
	local, err := testnet.Dial(ctx, n1.WS())
	require.NoError(t, err)
	defer local.Close()
	_, err = local.Identify(ctx, "local-agent", nil)
	require.NoError(t, err)
	require.NoError(t, local.Send(map[string]any{"type": "JOIN", "channel": "#general"}))
	_, err = local.Next(ctx, "JOINED")
	require.NoError(t, err)

	waitText(t, bctx, "#remotes", "the remote agent", func(s string) bool { return strings.Contains(s, "far-away-agent") })
	waitText(t, bctx, "#agents", "the local agent", func(s string) bool { return strings.Contains(s, "local-agent") })

	require.NoError(t, remote.Send(map[string]any{"type": "MSG", "to": "#general", "content": "hello from afar"}))
	_, err = local.Next(ctx, "MSG")
	require.NoError(t, err)
	waitText(t, bctx, "#c-msg-out .v", "the delivered message", func(s string) bool { return counter(s) == before+1 })
	waitText(t, bctx, "#channels", "#general with its members", func(s string) bool { return strings.Contains(s, "#general") })

	// A settlement on node 1 shows as a receipt and two ratings.
	from, to, err := testnet.Settle(ctx, n1.WS(), "proposer", "worker")
	require.NoError(t, err)
	waitText(t, bctx, "#receipts", "the receipt", func(s string) bool { return strings.Contains(s, "@"+from) && strings.Contains(s, "@"+to) })
	waitText(t, bctx, "#ratings", "the ratings", func(s string) bool { return strings.Contains(s, "@"+to) })

	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	_, err = png.Decode(bytes.NewReader(shot))
	require.NoError(t, err, "the screenshot is a PNG")
	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		require.NoError(t, os.WriteFile(filepath.Join("..", "docs", "operator-page.png"), shot, 0o644))
	}
}
