package runner

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCLIPrepareKeepsEnv prepares two sessions whose CLIs share one Env
// slice with room to grow: each gets its own STATE_DIR, the shared slice
// is not written, and a second session of one CLI does not pile up.
func TestCLIPrepareKeepsEnv(t *testing.T) {
	shared := make([]string, 1, 4)
	shared[0] = "X=1"
	a, b := &CLI{Command: []string{"true"}, Env: shared}, &CLI{Command: []string{"true"}, Env: shared}
	require.NoError(t, a.prepare(Config{StateDir: "/state/a"}))
	require.NoError(t, b.prepare(Config{StateDir: "/state/b"}))
	require.Equal(t, []string{"X=1", "STATE_DIR=/state/a"}, a.env)
	require.Equal(t, []string{"X=1", "STATE_DIR=/state/b"}, b.env)
	require.Equal(t, []string{"X=1", "", "", ""}, shared[:cap(shared)], "the shared array is untouched")
	require.Equal(t, []string{"X=1"}, a.Env)
	require.NoError(t, a.prepare(Config{StateDir: "/state/a2"}))
	require.Equal(t, []string{"X=1", "STATE_DIR=/state/a2"}, a.env)
	require.Equal(t, "/state/a2", a.dir)
}
