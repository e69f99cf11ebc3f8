package supervisor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
)

// TestBackoffPolicy pins PROTOCOL.md §23's numbers: 5 s doubling after
// short crashes up to the cap, reset after a long run, a clean exit or a
// guard's end; exit 2 is fatal; ten quick crashes in a row fail.
func TestBackoffPolicy(t *testing.T) {
	type run struct {
		code   int
		uptime time.Duration
		status string
		wait   time.Duration
		again  bool
	}
	const s = time.Second
	cases := []struct {
		name string
		runs []run
	}{
		{"doubling", []run{{1, 20 * s, StatusCrashed, 5 * s, true}, {1, 20 * s, StatusCrashed, 10 * s, true}, {1, 299 * s, StatusCrashed, 20 * s, true}}},
		{"long run resets", []run{{1, 20 * s, StatusCrashed, 5 * s, true}, {1, 20 * s, StatusCrashed, 10 * s, true}, {1, 301 * s, StatusCrashed, 5 * s, true}, {1, 20 * s, StatusCrashed, 5 * s, true}, {1, 20 * s, StatusCrashed, 10 * s, true}}},
		{"clean exit resets", []run{{1, 20 * s, StatusCrashed, 5 * s, true}, {1, 20 * s, StatusCrashed, 10 * s, true}, {0, s, StatusStopped, 5 * s, true}, {1, 20 * s, StatusCrashed, 5 * s, true}}},
		{"guard end resets", []run{{1, 20 * s, StatusCrashed, 5 * s, true}, {runner.ExitGuard, s, StatusKilled, 5 * s, true}}},
		{"fatal", []run{{runner.ExitFatal, s, StatusFatal, 0, false}}},
		{"quick crashes fail", func() []run {
			var rs []run
			w := 5 * s
			for range 9 {
				rs = append(rs, run{1, s, StatusCrashed, w, true})
				w *= 2
			}
			return append(rs, run{1, s, StatusFailed, 0, false})
		}()},
		{"a slow crash breaks the streak", func() []run {
			var rs []run
			for range 9 {
				rs = append(rs, run{1, s, StatusCrashed, 0, true})
			}
			rs = append(rs, run{1, 11 * s, StatusCrashed, 0, true})
			for range 9 {
				rs = append(rs, run{1, s, StatusCrashed, 0, true})
			}
			return append(rs, run{1, s, StatusFailed, 0, false})
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(Backoff{}.withDefaults())
			for i, r := range tc.runs {
				status, wait, again := tr.ended(r.code, r.uptime)
				require.Equal(t, r.status, status, "run %d", i)
				require.Equal(t, r.again, again, "run %d", i)
				if r.wait != 0 {
					require.Equal(t, r.wait, wait, "run %d", i)
				}
			}
		})
	}
	tr := newTracker(Backoff{Max: runner.Duration(12 * time.Second)}.withDefaults())
	var waits []time.Duration
	for range 4 {
		_, w, _ := tr.ended(1, 20*time.Second)
		waits = append(waits, w)
	}
	require.Equal(t, []time.Duration{5 * s, 10 * s, 12 * s, 12 * s}, waits, "the cap")
}
