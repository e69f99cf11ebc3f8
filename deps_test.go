package mesh_test

import (
	"os/exec"
	"strings"
	"testing"
)

// allowedDeps is the import table of DESIGN.md and STYLE.md §1: which of our
// packages each package may depend on (directly or not).
var allowedDeps = map[string][]string{
	"protocol":         {},
	"identity":         {"protocol"},
	"node":             {"protocol", "identity"},
	"p2p":              {},
	"ledger":           {"protocol", "identity"},
	"market":           {"protocol", "identity", "ledger"},
	"bridge":           {"protocol", "identity", "p2p", "node"},
	"agent/client":     {"protocol", "identity"},
	"agent/transfer":   {"protocol", "identity", "agent/client"},
	"agent/daemon":     {"protocol", "identity", "agent/client", "agent/transfer"},
	"agent/mcp":        {"protocol", "identity", "agent/client", "agent/transfer", "agent/daemon"},
	"agent/runner":     {"protocol", "identity", "agent/client", "agent/transfer", "agent/daemon", "agent/mcp"},
	"agent/supervisor": {"protocol", "identity", "agent/client", "agent/transfer", "agent/daemon", "agent/mcp", "agent/runner"},
	"ui":               {},
	"testnet":          {"protocol", "identity", "node", "p2p", "bridge", "market", "ledger", "ui"},
	"cmd/agentchat":    nil, // everything
}

const module = "github.com/agentchat/mesh"

// TestImportTable enforces the dependency direction with go list -deps, so
// a forbidden import fails CI rather than a review.
func TestImportTable(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if rel == "" {
			continue
		}
		allowed, known := allowedDeps[rel]
		if !known {
			t.Errorf("package %s is not in the import table; add it to DESIGN.md and allowedDeps", rel)
			continue
		}
		if allowed == nil {
			continue
		}
		deps, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		ok := map[string]bool{rel: true}
		for _, a := range allowed {
			ok[a] = true
		}
		for _, d := range strings.Fields(string(deps)) {
			if !strings.HasPrefix(d, module+"/") {
				if strings.Contains(d, "libp2p") && rel != "p2p" && !ok["p2p"] {
					t.Errorf("%s depends on %s: only p2p (and what may import it) may use libp2p", rel, d)
				}
				continue
			}
			dr := strings.TrimPrefix(d, module+"/")
			if !ok[dr] {
				t.Errorf("%s imports %s, which the import table forbids", rel, dr)
			}
		}
	}
}
