package bridge

import (
	"math"
	"testing"
)

// A hint lets an origin not delivered from yet start at a message up to
// the one right after the hinted sequence, in the hinted epoch only; it
// never says more than "this message may be the first".
func TestHintStartsAt(t *testing.T) {
	c := &carried{hinted: map[string]seqHint{
		"a":   {Origin: "a", Epoch: 7, Seq: 3},
		"max": {Origin: "max", Epoch: 7, Seq: math.MaxUint64},
	}}
	for _, tc := range []struct {
		name   string
		origin string
		epoch  int64
		seq    uint64
		want   bool
	}{
		{"right after the hint", "a", 7, 4, true},
		{"before the hint", "a", 7, 2, true},
		{"past the hint: a gap this node must wait for", "a", 7, 5, false},
		{"another epoch", "a", 8, 4, false},
		{"no hint for the origin", "b", 7, 1, false},
		{"a lying hint only starts at what arrives", "max", 7, 9, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.startsAt(tc.origin, tc.epoch, tc.seq); got != tc.want {
				t.Errorf("startsAt(%s, %d, %d) = %v, want %v", tc.origin, tc.epoch, tc.seq, got, tc.want)
			}
		})
	}
}
