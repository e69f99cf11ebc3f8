package node

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
	r := newRedactor(SecretsFromEnv([]string{"MY_API_KEY=supersecretvalue", "SHORT_TOKEN=abc", "PATH=/usr/bin:/bin"}))
	cases := []struct{ name, in, want string }{
		{"env value", "key is supersecretvalue ok", "key is [REDACTED:env:MY_API_KEY] ok"},
		{"short env values stay", "abc", "abc"},
		{"anthropic", "sk-ant-abcdefghijklmnopqrstuvwxyz", "[REDACTED:anthropic_api_key]"},
		{"github", "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED:github_pat]"},
		{"aws access", "AKIAABCDEFGHIJKLMNOP", "[REDACTED:aws_access_key]"},
		{"aws secret whole match", "aws_secret_access_key=abcdefghijklmnopqrstuvwxyz0123456789ABCD", "[REDACTED:aws_secret_key]"},
		{"generic", `password: "abcdefghijklmnop1234"`, "[REDACTED:generic_secret]"},
		{"plain text", "nothing to see", "nothing to see"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, changed := r.redact(c.in)
			require.Equal(t, c.want, got)
			require.Equal(t, c.in != c.want, changed)
		})
	}
}

func TestExtractCallbacks(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := []struct {
		name, in, clean string
		cbs             []callback
	}{
		{"none", "hello", "hello", nil},
		{"one", "see you @@cb:5s@@ping me", "see you", []callback{{at: now.Add(5 * time.Second), payload: "ping me"}}},
		{"channel", "@@cb:1.5s#general@@ hi ", "", []callback{{at: now.Add(1500 * time.Millisecond), channel: "#general", payload: "hi"}}},
		{"two", "x @@cb:1s@@a @@cb:2s@@b", "x", []callback{{at: now.Add(time.Second), payload: "a"}, {at: now.Add(2 * time.Second), payload: "b"}}},
		{"clamped", "@@cb:99999s@@late", "", []callback{{at: now.Add(time.Hour), payload: "late"}}},
		{"not a marker", "a @@cb:soon@@ b", "a @@cb:soon@@ b", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clean, cbs := extractCallbacks(c.in, now)
			require.Equal(t, c.clean, clean)
			require.Len(t, cbs, len(c.cbs))
			for i := range cbs {
				require.Equal(t, c.cbs[i].at, cbs[i].at)
				require.Equal(t, c.cbs[i].channel, cbs[i].channel)
				require.Equal(t, c.cbs[i].payload, cbs[i].payload)
				require.Regexp(t, `^cb_\d+_[0-9a-z]{6}$`, cbs[i].id)
			}
		})
	}
	long := make([]byte, 501)
	for i := range long {
		long[i] = 'x'
	}
	clean, cbs := extractCallbacks("@@cb:1s@@"+string(long), now)
	require.Empty(t, cbs, "a payload over 500 characters is skipped")
	require.Empty(t, clean)
}

func FuzzExtractCallbacks(f *testing.F) {
	for _, s := range []string{"", "hi", "@@cb:1s@@x", "a@@cb:2s#c@@b@@cb:", "@@cb:1.5s#x@@y@@cb:3s@@z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		clean, cbs := extractCallbacks(s, time.Unix(0, 0))
		if len(clean) > len(s) {
			t.Fatalf("cleaned text grew: %q -> %q", s, clean)
		}
		for _, cb := range cbs {
			if cb.at.After(time.Unix(0, 0).Add(cbMaxDelay)) {
				t.Fatalf("delay not clamped: %v", cb.at)
			}
		}
	})
}

// FuzzRedactHints checks that every pattern's hints are sound: whatever a
// pattern matches contains one of its hints, so skipping the expression on
// text without them never lets a secret through.
func FuzzRedactHints(f *testing.F) {
	for _, s := range []string{"sk-ant-" + strings.Repeat("a", 24), "AKIA" + strings.Repeat("B", 16),
		`password: "abcdefghijklmnopq"`, "xoxb-1234567890", "rk_live_" + strings.Repeat("x", 20), "plain text"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range secretPatterns {
			if p.re.MatchString(s) && !containsAny(s, p.hints) {
				t.Fatalf("%s matches %q without any hint of %v", p.name, s, p.hints)
			}
		}
	})
}
