package node

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// secretPatterns are the built-in redactions of PROTOCOL.md §9.7, applied
// in this order; the whole match is replaced. Each pattern runs only on text
// holding one of its hints, substrings every match contains, so ordinary
// messages skip the regular expressions.
var secretPatterns = []struct {
	name  string
	hints []string
	re    *regexp.Regexp
}{
	{"anthropic_api_key", []string{"sk-ant-"}, regexp.MustCompile(`sk-ant-[a-zA-Z0-9_-]{20,}`)},
	{"openai_api_key", []string{"sk-"}, regexp.MustCompile(`sk-[a-zA-Z0-9]{20,}`)},
	{"github_pat", []string{"ghp_"}, regexp.MustCompile(`ghp_[a-zA-Z0-9]{36}`)},
	{"github_pat_fine", []string{"github_pat_"}, regexp.MustCompile(`github_pat_[a-zA-Z0-9_]{22,}`)},
	{"github_oauth", []string{"gho_"}, regexp.MustCompile(`gho_[a-zA-Z0-9]{36}`)},
	{"aws_access_key", []string{"AKIA"}, regexp.MustCompile(`AKIA[A-Z0-9]{16}`)},
	{"aws_secret_key", []string{"aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"}, regexp.MustCompile(`(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY)['"=:\s]+([A-Za-z0-9/+=]{40})`)},
	{"slack_token", []string{"xox"}, regexp.MustCompile(`xox[bpaors]-[a-zA-Z0-9-]{10,}`)},
	{"stripe_key", []string{"k_live_", "k_test_"}, regexp.MustCompile(`[sr]k_(live|test)_[a-zA-Z0-9]{20,}`)},
	{"google_api_key", []string{"AIza"}, regexp.MustCompile(`AIza[a-zA-Z0-9_-]{35}`)},
	{"jwt", []string{"eyJ"}, regexp.MustCompile(`eyJ[a-zA-Z0-9_-]{10,}\.eyJ[a-zA-Z0-9_-]{10,}\.[a-zA-Z0-9_-]{10,}`)},
	{"generic_secret", []string{":", "="}, regexp.MustCompile(`(?:api_key|apikey|secret|token|password|credential|auth)['"]?\s*[:=]\s*['"]([a-zA-Z0-9_\-/+=]{16,})['"]`)},
}

// secretEnvName matches the names of environment variables whose values
// are the operator's own secrets (§9.7), case-insensitively.
var secretEnvName = regexp.MustCompile(`(?i)(_KEY$|_TOKEN$|_SECRET$|_PASSWORD$|_CREDENTIAL$|_API_KEY$|^API_KEY$|^SECRET$|^TOKEN$|^PASSWORD$|^AUTH|_AUTH$)`)

// SecretsFromEnv picks the operator's secrets out of environ ("NAME=value"
// pairs): secret-looking names with values of at least 8 characters. The
// node redacts those values wherever agents could leak them.
func SecretsFromEnv(environ []string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && len(value) >= 8 && secretEnvName.MatchString(name) {
			out[name] = value
		}
	}
	return out
}

// redactor replaces secrets in agent text before it is stored or relayed.
type redactor struct {
	env []envSecret // longest value first
}

type envSecret struct{ name, value string }

func newRedactor(secrets map[string]string) *redactor {
	r := &redactor{}
	for name, v := range secrets {
		r.env = append(r.env, envSecret{name, v})
	}
	slices.SortFunc(r.env, func(a, b envSecret) int {
		return cmp.Or(cmp.Compare(len(b.value), len(a.value)), cmp.Compare(a.name, b.name))
	})
	return r
}

// redact returns s with the operator's secrets and the built-in patterns
// replaced, and whether anything was.
func (r *redactor) redact(s string) (string, bool) {
	out := s
	for _, e := range r.env {
		out = strings.ReplaceAll(out, e.value, "[REDACTED:env:"+e.name+"]")
	}
	for _, p := range secretPatterns {
		if containsAny(out, p.hints) {
			out = p.re.ReplaceAllLiteralString(out, "[REDACTED:"+p.name+"]")
		}
	}
	return out, out != s
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
