package mcp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentchat/mesh/agent/mcp"
)

// FuzzTakeJournal feeds arbitrary journal files and tool lists: the
// parsers never panic, every entry taken names a tool, the file is gone
// afterwards, and a list's names have no commas or surrounding space.
func FuzzTakeJournal(f *testing.F) {
	f.Add([]byte(`{"ts":1,"tool":"agentchat_send","args":{"target":"#a"},"result":"{}"}`+"\n"), "agentchat_send, agentchat_nick")
	f.Add([]byte("not json\n{\"tool\":\"\"}\n{\"tool\":\"x\",\"args\":[1,2]}"), ",,")
	f.Fuzz(func(t *testing.T, data []byte, list string) {
		path := filepath.Join(t.TempDir(), "tools.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := mcp.TakeJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			if e.Tool == "" {
				t.Fatalf("an entry without a tool: %+v", e)
			}
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("the journal is still there: %v", err)
		}
		cfg, err := mcp.ConfigFromEnv(func(k string) string {
			if k == "AGENTCHAT_TOOLS" {
				return list
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range cfg.Tools {
			if name == "" || strings.Contains(name, ",") || strings.TrimSpace(name) != name {
				t.Fatalf("tool name %q from %q", name, list)
			}
		}
	})
}
