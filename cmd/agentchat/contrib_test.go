package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The example config the systemd unit points at is a valid node config.
func TestContribNodeTOML(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "contrib", "systemd", "node.toml"))
	require.NoError(t, err)
	cfg, err := configured(t, string(text))
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:6667", cfg.Node.Listen)
	require.Len(t, cfg.P2P.Listen, 2)
}

// The unit is hardened as docs/operating.md says, runs `agentchat node
// --config`, reloads with SIGHUP, and passes systemd-analyze where systemd
// is installed.
func TestSystemdUnit(t *testing.T) {
	path := filepath.Join("..", "..", "contrib", "systemd", "agentchat.service")
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	unit := string(text)
	for _, line := range []string{"DynamicUser=yes", "StateDirectory=agentchat", "NoNewPrivileges=yes", "Restart=on-failure",
		"ProtectSystem=strict", "ExecReload=/bin/kill -HUP $MAINPID", "Environment=AGENTCHAT_DATA_DIR=/var/lib/agentchat",
		"ExecStart=/usr/local/bin/agentchat node --config /etc/agentchat/node.toml"} {
		require.Contains(t, unit, "\n"+line+"\n")
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed: unit syntax not verified")
		return
	}
	bin := agentchatBin(t)
	local := filepath.Join(t.TempDir(), "agentchat.service")
	require.NoError(t, os.WriteFile(local, []byte(strings.ReplaceAll(unit, "/usr/local/bin/agentchat", bin)), 0o644))
	out, err := exec.Command("systemd-analyze", "verify", local).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)))
}

// The Dockerfile's build line makes a static binary that reports the
// VERSION build argument.
func TestDockerfileBuild(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	require.NoError(t, err)
	df := string(text)
	require.Contains(t, df, "CGO_ENABLED=0 go build -trimpath -buildvcs=false")
	require.Contains(t, df, "\nUSER 65532:65532\n")
	require.Contains(t, df, `ENTRYPOINT ["/usr/local/bin/agentchat"]`)
	m := regexp.MustCompile(`-ldflags "([^"]+)"`).FindStringSubmatch(df)
	require.NotNil(t, m, "ldflags in the Dockerfile")
	bin := filepath.Join(t.TempDir(), "agentchat")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", strings.ReplaceAll(m[1], "${VERSION}", "9.9.9-docker"), "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(bin, "version", "--json").Output()
	require.NoError(t, err)
	var b buildInfo
	require.NoError(t, json.Unmarshal(out, &b))
	require.Equal(t, "9.9.9-docker", b.Version)
	if file, err := exec.LookPath("file"); err == nil {
		desc, err := exec.Command(file, bin).Output()
		require.NoError(t, err)
		require.Contains(t, string(desc), "statically linked")
	}
}
