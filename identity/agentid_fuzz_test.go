package identity_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

func FuzzAgentIDTarget(f *testing.F) {
	f.Add("@f0ff50dacf109dea")
	f.Add("f0ff50dacf109dea")
	f.Add("@abcd1234")
	f.Add("@@abcd1234")
	f.Add("@")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		// Whatever the input, a derived ID must always be well formed.
		require.True(t, identity.ValidAgentID(identity.AgentID(s)))

		id, ok := identity.ParseTarget(s)
		if !ok {
			require.Empty(t, id)
			return
		}
		require.True(t, identity.ValidAgentID(id))
		require.NotContains(t, id, "@")
		require.Equal(t, strings.TrimPrefix(s, "@"), id)
		again, ok := identity.ParseTarget("@" + id)
		require.True(t, ok)
		require.Equal(t, id, again)
	})
}
