package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
	"github.com/agentchat/mesh/agent/supervisor"
	"github.com/agentchat/mesh/testnet"
)

// meshModel is an in-process chat-completions server standing in for the
// two agents' model. It plays a small script, deciding from each request
// as a model would from its prompt: bob introduces himself; alice, once
// bob's introduction is in her prompt (new, or channel history if she came
// later) and her transcript shows no proposal yet, proposes work to him
// with agentchat_propose (again if the node does not know bob yet) and
// says so; bob accepts a proposal with agentchat_accept. Everything else
// is PASS.
type meshModel struct {
	mu      sync.Mutex
	prompts map[string][]string // agent -> every user prompt, in order
}

var (
	agentRe    = regexp.MustCompile(`You are (\w+) \(agent id`)
	bobIDRe    = regexp.MustCompile(`(@[0-9a-f]{16}) \(bob\) -> #general`)
	proposalRe = regexp.MustCompile(`proposal (\S+) from @`)
)

func (m *meshModel) handle(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) < 2 {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	who := agentRe.FindStringSubmatch(req.Messages[0].Content)
	prompt := req.Messages[1].Content
	last := req.Messages[len(req.Messages)-1]
	if len(who) < 2 {
		http.Error(w, `{"error":{"message":"no agent"}}`, http.StatusBadRequest)
		return
	}
	if last.Role == "user" {
		m.mu.Lock()
		m.prompts[who[1]] = append(m.prompts[who[1]], prompt)
		m.mu.Unlock()
	}
	text := func(s string) map[string]any {
		return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": s}}},
			"usage": map[string]any{"total_tokens": 10}}
	}
	call := func(name string, args map[string]any) map[string]any {
		a, _ := json.Marshal(args)
		return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant",
			"tool_calls": []any{map[string]any{"id": "call_" + name, "type": "function",
				"function": map[string]any{"name": name, "arguments": string(a)}}}}}}, "usage": map[string]any{"total_tokens": 10}}
	}
	var out map[string]any
	switch {
	case who[1] == "bob" && last.Role == "tool":
		out = text("accepted, starting on it")
	case who[1] == "bob" && proposalRe.MatchString(newPart(prompt)):
		out = call("agentchat_accept", map[string]any{"proposal_id": proposalRe.FindStringSubmatch(newPart(prompt))[1]})
	case who[1] == "bob" && strings.Contains(prompt, "Session 1 started"):
		out = text("hi all, I am bob and I review code")
	case who[1] == "alice" && last.Role == "tool" && strings.Contains(last.Content, `"success":true`):
		out = text("bob, I sent you a proposal")
	case who[1] == "alice" && (last.Role == "tool" || bobIDRe.MatchString(prompt) && !proposed(prompt)):
		if last.Role == "tool" {
			time.Sleep(2 * time.Second) // the node does not know bob yet: try again
		}
		out = call("agentchat_propose", map[string]any{"to": bobIDRe.FindStringSubmatch(prompt)[1], "task": "review my parser"})
	default:
		out = text("PASS")
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// proposed reports whether the transcript in a prompt shows a proposal
// that went through.
func proposed(prompt string) bool {
	for _, line := range strings.Split(prompt, "\n") {
		if strings.Contains(line, "you called agentchat_propose") && strings.Contains(line, `"success":true`) {
			return true
		}
	}
	return false
}

// newPart is the part of a prompt after "New messages:".
func newPart(prompt string) string {
	_, after, _ := strings.Cut(prompt, "New messages:")
	return after
}

func (m *meshModel) promptsOf(agent string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.prompts[agent]...)
}

// TestSuperviseTwoAgentsOnTestnet is the end-to-end test of issue 13: one
// config file, two supervised agents (real `agentchat run` processes) on
// two nodes of a testnet with an OpenAI-compatible model endpoint. They
// converse in #general, alice proposes work to bob, bob accepts; bob's
// runner is killed and its restart resumes with the transcript; the stop
// file stops alice, and ending the supervisor stops bob; `supervise
// status` shows both.
func TestSuperviseTwoAgentsOnTestnet(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(childEnv, "1") // the supervisor's runner processes are this binary running main
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 2, Dir: t.TempDir(),
		Tune: func(_ int, c *testnet.NodeConfig) { c.Node.RateLimits = false }})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	model := &meshModel{prompts: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(model.handle))
	defer srv.Close()

	agent := func(name, url, mission string) map[string]any {
		return map[string]any{"name": name, "mission": mission, "url": url,
			"backend": map[string]any{"type": "openai", "base_url": srv.URL, "model": "llama3.2"}}
	}
	cfg := map[string]any{
		"agents": []any{
			agent("alice", net.Nodes[0].WS(), "Find a code reviewer and propose the review of your parser to them."),
			agent("bob", net.Nodes[1].WS(), "Introduce yourself and accept code review work."),
		},
		"backoff": map[string]any{"initial": "200ms", "grace": "5s"},
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	cfgPath := filepath.Join(t.TempDir(), "fleet.json")
	require.NoError(t, os.WriteFile(cfgPath, b, 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		app := newApp()
		app.Writer, app.ErrWriter = io.Discard, &stderr
		done <- app.RunContext(ctx, []string{"agentchat", "--log-level", "warn", "supervise", "--config", cfgPath, "--home", home})
	}()
	var supErr error
	ended := false
	waitDone := func() {
		if ended {
			return
		}
		select {
		case supErr = <-done:
			ended = true
		case <-time.After(90 * time.Second):
			t.Error("supervise did not stop")
		}
	}
	t.Cleanup(func() { cancel(); waitDone() }) // before the state dirs are removed
	aliceDir, bobDir := runner.AgentDir(home, "alice"), runner.AgentDir(home, "bob")
	has := func(dir, kind, sub string) bool {
		data, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl"))
		for _, line := range strings.Split(string(data), "\n") {
			var e runner.Entry
			if json.Unmarshal([]byte(line), &e) == nil && e.Kind == kind && strings.Contains(e.Content, sub) {
				return true
			}
		}
		return false
	}
	const long = 90 * time.Second
	debug := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "supervise: %s", stderr.String())
		for _, dir := range []string{aliceDir, bobDir} {
			for _, f := range []string{"runner.log", "transcript.jsonl", "state.json"} {
				data, _ := os.ReadFile(filepath.Join(dir, f))
				fmt.Fprintf(&b, "\n%s/%s:\n%s", filepath.Base(dir), f, data)
			}
		}
		return b.String()
	}
	require.Eventually(t, func() bool { return has(aliceDir, runner.KindIn, "I am bob and I review code") },
		long, 50*time.Millisecond, "alice hears bob across the mesh; %s", debug())
	require.Eventually(t, func() bool { return has(bobDir, runner.KindIn, "bob, I sent you a proposal") },
		long, 50*time.Millisecond, "bob hears alice; %s", debug())
	require.Eventually(t, func() bool {
		return has(bobDir, runner.KindTool, `"status":"accepted"`) && has(aliceDir, runner.KindIn, "accepted")
	}, long, 50*time.Millisecond, "bob accepts alice's proposal and alice learns it; %s", debug())
	require.True(t, has(aliceDir, runner.KindTool, `"task":"review my parser"`), "alice's propose call is in her transcript")

	// Kill bob's runner: the supervisor restarts it, and its first prompt
	// carries the first session's transcript.
	var st supervisor.State
	readState := func(dir string) supervisor.State {
		var s supervisor.State
		data, _ := os.ReadFile(filepath.Join(dir, supervisor.StateFile))
		_ = json.Unmarshal(data, &s)
		return s
	}
	st = readState(bobDir)
	require.Equal(t, supervisor.StatusRunning, st.Status)
	require.NoError(t, syscall.Kill(st.PID, syscall.SIGKILL))
	var resumed string
	require.Eventually(t, func() bool {
		for _, p := range model.promptsOf("bob") {
			if strings.Contains(p, "Session 2 started") {
				resumed = p
				return true
			}
		}
		return false
	}, long, 50*time.Millisecond, "bob's runner restarted; %s", debug())
	require.Contains(t, resumed, "bob, I sent you a proposal", "the restarted session has the transcript")
	st = readState(bobDir)
	require.Equal(t, 1, st.RestartCount)
	require.Contains(t, st.LastError, "exit code")

	// The stop file stops alice only.
	require.NoError(t, os.WriteFile(filepath.Join(aliceDir, supervisor.StopFile), nil, 0o600))
	require.Eventually(t, func() bool { return readState(aliceDir).Status == supervisor.StatusStopped },
		long, 50*time.Millisecond)
	sess, err := runner.ReadSession(aliceDir)
	require.NoError(t, err)
	require.Equal(t, runner.EndStopped, sess.EndedBy, "alice's runner took SIGTERM as a clean stop")
	require.Equal(t, supervisor.StatusRunning, readState(bobDir).Status)

	out, err := runCLI(t, "supervise", "status", "--home", home)
	require.NoError(t, err)
	require.Regexp(t, `(?m)^alice\s+stopped\s+-\s+0\s`, out)
	require.Regexp(t, `(?m)^bob\s+running\s+\d+\s+1\s`, out)

	cancel() // what SIGTERM to `agentchat supervise` does
	waitDone()
	require.True(t, ended)
	require.NoError(t, supErr)
	require.Equal(t, supervisor.StatusStopped, readState(bobDir).Status)
}

// TestSuperviseCommandErrors pins the command's clear errors.
func TestSuperviseCommandErrors(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	_, err := runCLI(t, "supervise")
	require.ErrorContains(t, err, "--config FILE is required")
	cfg := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(cfg, []byte(`{"agents":[{"name":"a","mission":"m","backend":{"type":"cli","command":["true"]}}]}`), 0o600))
	t.Setenv("PATH", t.TempDir())
	_, err = runCLI(t, "supervise", "--config", cfg, "--container", "docker", "--image", "agentchat:dev")
	require.ErrorContains(t, err, "docker is not installed or not on PATH")
	_, err = runCLI(t, "supervise", "--config", cfg, "--image", "agentchat:dev")
	require.ErrorContains(t, err, "--image needs --container")
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"agents":[{"name":"a","mission":"m","backend":{"type":"openai"}}]}`), 0o600))
	_, err = runCLI(t, "supervise", "--config", bad)
	require.ErrorContains(t, err, "needs a model", "a bad agent is refused before anything starts")
	out, err := runCLI(t, "supervise", "status")
	require.NoError(t, err)
	require.Equal(t, "no supervised agents\n", out)
}
