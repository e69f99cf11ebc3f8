package main

import (
	"debug/elf"
	"encoding/json"
	"fmt"
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

// The Dockerfile's build step, run as written (its RUN line's go build
// arguments, CGO_ENABLED=0, from the repository root), makes a static,
// stripped ELF binary that reports the VERSION build argument. CI has no
// Docker engine: this proves the build step, not the image.
func TestDockerfileBuild(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	require.NoError(t, err)
	df := strings.ReplaceAll(string(text), "\\\n", " ")
	require.Contains(t, df, "\nUSER 65532:65532\n")
	require.Contains(t, df, `ENTRYPOINT ["/usr/local/bin/agentchat"]`)
	m := regexp.MustCompile(`\nRUN CGO_ENABLED=0 go build (.+?) -o /out/agentchat (\./cmd/agentchat) `).FindStringSubmatch(df)
	require.NotNil(t, m, "the Dockerfile's build line")
	args, err := shellWords(strings.ReplaceAll(m[1], "${VERSION}", "9.9.9-docker"))
	require.NoError(t, err)
	require.Contains(t, args, "-trimpath")
	bin := filepath.Join(t.TempDir(), "agentchat")
	build := exec.Command("go", append(append([]string{"build"}, args...), "-o", bin, m[2])...)
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "a static binary has no program interpreter")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	require.Empty(t, libs, "a static binary loads no shared libraries")
	require.Nil(t, f.Section(".symtab"), "-s strips the symbol table")

	out, err = exec.Command(bin, "version", "--json").Output()
	require.NoError(t, err)
	var b buildInfo
	require.NoError(t, json.Unmarshal(out, &b))
	require.Equal(t, "9.9.9-docker", b.Version)
	require.Equal(t, "unknown", b.Revision, "-buildvcs=false: no revision")
}

// shellWords splits s as the shell would for words and double-quoted
// strings (all the Dockerfile's build line uses).
func shellWords(s string) ([]string, error) {
	var words []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", s)
			}
			words = append(words, s[1:end+1])
			s = s[end+2:]
			continue
		}
		w, rest, _ := strings.Cut(s, " ")
		words, s = append(words, w), rest
	}
	return words, nil
}
