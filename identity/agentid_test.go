package identity_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

func TestAgentIDVectors(t *testing.T) {
	tests := []struct {
		name string
		pem  string
		want string
	}{
		{"node export", vectorPubPEM, "f0ff50dacf109dea"},
		{"without final newline", strings.TrimSuffix(vectorPubPEM, "\n"), "ae8e7d3bbb0cd5b6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := identity.AgentID(tt.pem)
			require.Equal(t, tt.want, got)
			require.True(t, identity.ValidAgentID(got))
		})
	}
}

func TestValidAgentID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"f0ff50dacf109dea", true},
		{"0123456789abcdef", true},
		{"abcd1234", true},
		{"zz9yx0qq", true},
		{"deadbeef", true},
		{"", false},
		{"F0FF50DACF109DEA", false},
		{"f0ff50dacf109deg", false},
		{"f0ff50dacf109de", false},
		{"f0ff50dacf109deaa", false},
		{"@f0ff50dacf109dea", false},
		{"ABCD1234", false},
		{"abcd-123", false},
		{"abcd123", false},
		{"abcd12345", false},
		{"abcdéfg", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, identity.ValidAgentID(tt.in))
		})
	}
}

func TestEphemeralID(t *testing.T) {
	const n = 2000
	seen := make(map[string]bool, n)
	chars := make(map[rune]int)
	for range n {
		id := identity.EphemeralID()
		require.Len(t, id, 8)
		require.True(t, identity.ValidAgentID(id), id)
		require.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
		for _, c := range id {
			chars[c]++
		}
	}
	// 16000 draws over 36 symbols: each appears about 444 times. The bound is
	// over 9 sigma wide, so it never flakes; it catches a generator that drops
	// or heavily favours symbols, not subtle modulo bias.
	require.Len(t, chars, 36)
	for c, k := range chars {
		require.InDelta(t, 444, k, 200, "char %q", c)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in     string
		wantID string
		wantOK bool
	}{
		{"@f0ff50dacf109dea", "f0ff50dacf109dea", true},
		{"f0ff50dacf109dea", "f0ff50dacf109dea", true},
		{"@abcd1234", "abcd1234", true},
		{"abcd1234", "abcd1234", true},
		{"@@f0ff50dacf109dea", "", false},
		{"@", "", false},
		{"", "", false},
		{"#general", "", false},
		{"@F0FF50DACF109DEA", "", false},
		{" @f0ff50dacf109dea", "", false},
		{"@f0ff50dacf109dea ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, ok := identity.ParseTarget(tt.in)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.wantID, id)
		})
	}
}
