package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
	"golang.org/x/mod/modfile"

	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/testnet"
)

// `agentchat version` names the Go and libp2p versions the binary was
// built with and the VCS revision it was built from.
func TestVersionCommand(t *testing.T) {
	bin := agentchatBin(t)
	out, err := exec.Command(bin, "version", "--json").Output()
	require.NoError(t, err)
	var b buildInfo
	require.NoError(t, json.Unmarshal(out, &b))
	require.Equal(t, version, b.Version)
	require.Equal(t, runtime.Version(), b.Go)

	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	require.NoError(t, err)
	mf, err := modfile.Parse("go.mod", gomod, nil)
	require.NoError(t, err)
	for _, r := range mf.Require {
		switch r.Mod.Path {
		case "github.com/libp2p/go-libp2p":
			require.Equal(t, r.Mod.Version, b.Libp2p)
		case "github.com/libp2p/go-libp2p-pubsub":
			require.Equal(t, r.Mod.Version, b.Pubsub)
		}
	}
	// Builds stamp the revision unless VCS stamping is off (GOFLAGS
	// -buildvcs=false, as on some build hosts): then it reads "unknown".
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil && b.Revision != "unknown" {
		require.Equal(t, strings.TrimSpace(string(head)), b.Revision)
	}
	text, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	require.Contains(t, string(text), "libp2p     "+b.Libp2p)
}

// The completion scripts exist for the three shells, and the binary
// answers their questions: subcommands, then a command's flags.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o bashdefault", "zsh": "#compdef agentchat", "fish": "complete -c agentchat"} {
		out, err := runCLI(t, "completion", shell)
		require.NoError(t, err)
		require.Contains(t, out, want, shell)
	}
	_, err := runCLI(t, "completion", "tcsh")
	require.ErrorContains(t, err, "want bash, zsh or fish")

	// urfave/cli reads the words from os.Args, so this runs the binary.
	bin := agentchatBin(t)
	out2, err := exec.Command(bin, "--generate-bash-completion").Output()
	require.NoError(t, err)
	require.Contains(t, strings.Fields(string(out2)), "node")
	require.Contains(t, strings.Fields(string(out2)), "version")
	out2, err = exec.Command(bin, "node", "--metrics", "--generate-bash-completion").Output()
	require.NoError(t, err)
	require.Contains(t, strings.Fields(string(out2)), "--metrics-listen")
}

// `agentchat node --help` lists every flag under a category.
func TestNodeHelpGroupsFlags(t *testing.T) {
	out, err := runCLI(t, "node", "--help")
	require.NoError(t, err)
	for _, cat := range []string{"Node", "Websocket listener", "Channels and messages", "Flow control", "Access", "Mesh (libp2p)", "Marketplace", "Agentcourt", "Observability"} {
		require.Contains(t, out, "\n   "+cat+"\n", "category %q", cat)
	}
	require.NotContains(t, out, "\n   Other\n", "every node flag has a category")
	for _, f := range nodeFlags() {
		require.Contains(t, flagCategories, f.Names()[0], "flag --%s", f.Names()[0])
	}
}

// configured runs the node command's flag handling on args with a config
// file holding text and returns the node configuration it builds.
func configured(t *testing.T, text string, args ...string) (testnet.NodeConfig, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.toml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	var cfg testnet.NodeConfig
	app := &cli.App{Flags: logFlags(), Commands: []*cli.Command{{Name: "node", Flags: nodeFlags(), Action: func(c *cli.Context) error {
		if _, err := applyConfigFile(c, c.String("config")); err != nil {
			return err
		}
		var err error
		cfg, err = nodeConfig(c)
		return err
	}}}}
	err := app.Run(append([]string{"agentchat", "node", "--config", path, "--data-dir", t.TempDir()}, args...))
	return cfg, err
}

// Every node flag can be set in the config file; the command line and the
// environment override it; unknown names and wrong kinds are errors.
func TestConfigFile(t *testing.T) {
	cfg, err := configured(t, `
listen = "127.0.0.1:7001"
name = "from-file"
channels = ["#a", "#b"]
buffer-size = 50
max-frame = 65536
park-after = "5s"
allowlist-strict = true
peer = ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"]
p2p-listen = ["/ip4/127.0.0.1/tcp/4100"]
webhook = "http://127.0.0.1:9/hook"
log-level = "debug"
`)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7001", cfg.Node.Listen)
	require.Equal(t, "from-file", cfg.Node.ServerName)
	require.Equal(t, []string{"#a", "#b"}, cfg.Node.Channels)
	require.Equal(t, 50, cfg.Node.BufferSize)
	require.EqualValues(t, 65536, cfg.Node.MaxFrame)
	require.Equal(t, 5*time.Second, cfg.Node.ParkAfter)
	require.True(t, cfg.Node.Allowlist)
	require.True(t, cfg.Node.AllowlistStrict)
	require.Len(t, cfg.P2P.Peers, 1)
	require.Equal(t, []string{"/ip4/127.0.0.1/tcp/4100"}, cfg.P2P.Listen, "a list replaces the default")
	require.Equal(t, []string{"http://127.0.0.1:9/hook"}, cfg.Webhooks)

	cfg, err = configured(t, "name = \"from-file\"\nlisten = \"127.0.0.1:7001\"\n", "--name", "from-flag")
	require.NoError(t, err)
	require.Equal(t, "from-flag", cfg.Node.ServerName, "the command line wins")
	require.Equal(t, "127.0.0.1:7001", cfg.Node.Listen)
	t.Setenv("AGENTCHAT_SERVER_NAME", "from-env")
	cfg, err = configured(t, "name = \"from-file\"\n")
	require.NoError(t, err)
	require.Equal(t, "from-env", cfg.Node.ServerName, "the environment wins")

	for text, want := range map[string]string{
		"lisen = \"x\"\n":         `unknown setting "lisen"`,
		"buffer-size = \"20\"\n":  "want an integer",
		"park-after = 5\n":        "want a duration",
		"park-after = \"soon\"\n": "invalid duration",
		"allowlist = \"yes\"\n":   "want true or false",
		"peer = [1]\n":            "list of strings",
		"[p2p]\nlisten = 1\n":     "is a table",
		"listen = \n":             "config file",
		"config = \"other\"\n":    `unknown setting "config"`,
	} {
		_, err := configured(t, text)
		require.ErrorContains(t, err, want, "%q", text)
	}
}

// Every node flag is of a kind the config file can set, so a new flag of
// another kind fails here rather than in an operator's file.
func TestEveryNodeFlagSettableFromFile(t *testing.T) {
	samples := []any{"x", []any{"x"}, true, int64(1), "1s"}
	for _, f := range nodeFlags() {
		ok := false
		for _, v := range samples {
			if _, err := flagValues(f, v); err == nil {
				ok = true
			}
		}
		require.True(t, ok, "--%s (%T) cannot be set from the config file", f.Names()[0], f)
	}
}

// Private addresses announced on the mesh are learned with
// --p2p-private-addrs or --local only.
func TestPrivateAddrsFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--p2p-private-addrs"}, true},
		{[]string{"--local"}, true},
	} {
		cfg, err := configured(t, "", tc.args...)
		require.NoError(t, err)
		require.Equal(t, tc.want, cfg.P2P.AllowPrivateAddrs, "%v", tc.args)
	}
}

// The --court-* flags reach the market's court, with §13.1 defaults.
func TestCourtFlags(t *testing.T) {
	cfg, err := configured(t, `court-reveal = "2s"`, "--court-vote", "3s", "--court-min-transactions", "1")
	require.NoError(t, err)
	require.Equal(t, market.CourtConfig{Reveal: 2 * time.Second, Response: market.DefaultResponse,
		Evidence: market.DefaultEvidence, Vote: 3 * time.Second, MinRating: market.DefaultArbiterMin,
		MinTransactions: 1}, cfg.Market.Court)
}
