package mcp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentchat/mesh/protocol"
)

// identityPath returns the identity file agentchat_connect uses: the
// explicit path when given (which must resolve inside ~/.agentchat), else
// ~/.agentchat/identities/<name>.json when a name is given, else "" (an
// ephemeral agent).
func (s *Server) identityPath(name, explicit string) (string, error) {
	base := s.cfg.agentchatDir()
	if explicit != "" {
		return insideDir(base, s.cfg.Home, explicit)
	}
	if name == "" {
		return "", nil
	}
	if !protocol.ValidName(name) {
		return "", fmt.Errorf("invalid agent name %q (use 1-32 letters, digits, '-' or '_')", name)
	}
	return filepath.Join(base, "identities", name+".json"), nil
}

// insideDir resolves p ("~/…" is under home; a relative path is relative
// to base) and checks it lies inside base, also after following symbolic
// links of the parts that exist.
func insideDir(base, home, p string) (string, error) {
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	case !filepath.IsAbs(p):
		p = filepath.Join(base, p)
	}
	p = filepath.Clean(p)
	if !within(base, p) || p == base {
		return "", fmt.Errorf("%w (got %s)", ErrIdentityPath, p)
	}
	realBase, err := filepath.EvalSymlinks(base)
	if err != nil {
		return p, nil // no ~/.agentchat yet: nothing in it can be a link
	}
	if !within(realBase, resolveExisting(p)) {
		return "", fmt.Errorf("%w (%s leads outside it through a symbolic link)", ErrIdentityPath, p)
	}
	return p, nil
}

// resolveExisting follows the symbolic links of the longest existing
// prefix of p and appends the rest.
func resolveExisting(p string) string {
	rest := ""
	for cur := p; ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		if filepath.Dir(cur) == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator))
}
