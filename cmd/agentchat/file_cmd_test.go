package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/transfer"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

func TestFileSendAndReceive(t *testing.T) {
	url := clientCmdNode(t)
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(src, "dir"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "dir", "b.bin"), []byte{0, 1, 2, 'b'}, 0o644))
	dst := filepath.Join(t.TempDir(), "inbox")

	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runCLIWith(&out, &errOut, "file", "receive", url, "--dir", dst, "--once", "-n", "bob")
	}()
	idPattern := regexp.MustCompile(`Receiving as (@[0-9a-z]+)`)
	require.Eventually(t, func() bool { return idPattern.MatchString(errOut.String()) }, 10*time.Second, 5*time.Millisecond)
	bob := idPattern.FindStringSubmatch(errOut.String())[1]

	sent, err := runCLI(t, "file", "send", url, bob, filepath.Join(src, "a.txt"), filepath.Join(src, "dir"), "-n", "alice")
	require.NoError(t, err)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(sent)), &res))
	require.Equal(t, bob, res["to"])
	require.Equal(t, float64(10), res["totalSize"])

	select {
	case err := <-done:
		require.NoError(t, err, "stderr: %s", errOut.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("receive --once did not exit; stdout %q stderr %q", out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 1, "one JSON line per transfer: %q", out.String())
	var got struct {
		OK    bool   `json:"ok"`
		TID   string `json:"tid"`
		From  string `json:"from"`
		Dir   string `json:"dir"`
		Files []struct {
			Name string `json:"name"`
			Path string `json:"path"`
			Size int64  `json:"size"`
		} `json:"files"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	require.True(t, got.OK)
	require.Equal(t, res["tid"], got.TID)
	require.Equal(t, dst, got.Dir)
	require.Len(t, got.Files, 2)
	for _, f := range got.Files {
		want, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f.Name)))
		require.NoError(t, err, f.Name)
		data, err := os.ReadFile(f.Path)
		require.NoError(t, err)
		require.Equal(t, want, data, f.Name)
		require.Equal(t, filepath.Join(dst, filepath.FromSlash(f.Name)), f.Path)
	}
	require.Equal(t, []string{"a.txt", "dir/b.bin"}, []string{got.Files[0].Name, got.Files[1].Name})
}

func TestFileCommandUsage(t *testing.T) {
	url := clientCmdNode(t)
	_, err := runCLI(t, "file", "send", url, "@0123456789abcdef")
	require.ErrorContains(t, err, "usage: agentchat file send [URL] @AGENT PATH...")
	_, err = runCLI(t, "file", "send", url, "bob", "x")
	require.ErrorContains(t, err, "is not an agent ID")
	_, err = runCLI(t, "file", "receive", url, "extra")
	require.ErrorContains(t, err, "usage: agentchat file receive [URL]")
	_, err = runCLI(t, "file", "receive", url, "--from", "nobody")
	require.ErrorContains(t, err, "is not an agent ID")
	_, err = runCLI(t, "file", "send", url, "@0123456789abcdef", filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestFileReceiveFromFilter(t *testing.T) {
	url := clientCmdNode(t)
	carolPath := filepath.Join(t.TempDir(), "carol.json")
	carol, _, err := identity.LoadOrCreate(carolPath, "carol")
	require.NoError(t, err)
	src := filepath.Join(t.TempDir(), "c.txt")
	require.NoError(t, os.WriteFile(src, []byte("from carol\n"), 0o644))
	dst := t.TempDir()

	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runCLIWith(&out, &errOut, "file", "receive", url, "--dir", dst, "--from", "@"+carol.AgentID, "--once")
	}()
	idPattern := regexp.MustCompile(`Receiving as (@[0-9a-z]+)`)
	require.Eventually(t, func() bool { return idPattern.MatchString(errOut.String()) }, 10*time.Second, 5*time.Millisecond)
	bob := idPattern.FindStringSubmatch(errOut.String())[1]

	_, err = runCLI(t, "file", "send", url, bob, src, "--timeout", "1s")
	require.ErrorIs(t, err, transfer.ErrTimeout, "an offer from another agent is ignored")
	require.Contains(t, errOut.String(), "Ignoring offer")

	_, err = runCLI(t, "file", "send", url, bob, src, "-i", carolPath)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatalf("receive --once did not exit; stderr %q", errOut.String())
	}
	data, err := os.ReadFile(filepath.Join(dst, "c.txt"))
	require.NoError(t, err)
	require.Equal(t, "from carol\n", string(data))
}

// A receiver that accepts and then never answers (no ack) ends file send
// within its --timeout, with an error that names the bound.
func TestFileSendGivesUpWithinTimeout(t *testing.T) {
	url := clientCmdNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bob, err := client.Dial(ctx, client.Options{URL: url, Name: "bob"})
	require.NoError(t, err)
	defer bob.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { // accept every offer, then fall silent
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-bob.Events():
				if !ok {
					return
				}
				m, isMsg := ev.(*protocol.MsgFrame)
				var ft struct {
					FT  string `json:"_ft"`
					TID string `json:"tid"`
				}
				if !isMsg || json.Unmarshal([]byte(m.Content), &ft) != nil || ft.FT != "offer" {
					continue
				}
				accept, _ := json.Marshal(map[string]string{"_ft": "accept", "tid": ft.TID})
				_ = bob.Send(ctx, m.From, string(accept))
			}
		}
	})
	src := filepath.Join(t.TempDir(), "a.txt")
	require.NoError(t, os.WriteFile(src, []byte("alpha\n"), 0o644))

	start := time.Now()
	_, err = runCLI(t, "file", "send", url, bob.AgentID(), src, "-n", "alice", "--timeout", "3s")
	took := time.Since(start)
	require.ErrorIs(t, err, transfer.ErrTimeout)
	require.ErrorContains(t, err, "not done within 3s (--timeout)")
	require.Less(t, took, 10*time.Second, "file send ran %s past its 3s bound", took)
}
