package node

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The §9.5 rule every node applies to every claim it sees: one total
// order, so nodes that saw the same claims agree on the holder.
func TestBeats(t *testing.T) {
	cur := &floor{holder: "bbbb", startedAt: 100}
	for _, tc := range []struct {
		name      string
		startedAt float64
		holder    string
		cur       *floor
		want      bool
	}{
		{"no claim yet", 500, "zzzz", nil, true},
		{"earlier start", 99, "zzzz", cur, true},
		{"later start", 101, "aaaa", cur, false},
		{"same start, lower ID", 100, "aaaa", cur, true},
		{"same start, higher ID", 100, "cccc", cur, false},
		{"the same claim again", 100, "bbbb", cur, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, beats(tc.startedAt, tc.holder, tc.cur))
			if tc.cur != nil && tc.want { // and the other way round it loses
				require.False(t, beats(tc.cur.startedAt, tc.cur.holder, &floor{holder: tc.holder, startedAt: tc.startedAt}))
			}
		})
	}
}
