package testnet

import (
	"slices"
	"testing"
)

func TestTopologyWiring(t *testing.T) {
	cases := []struct {
		top        Topology
		i, n       int
		dials, nbs []int
	}{
		{Full, 0, 4, []int{}, []int{1, 2, 3}},
		{Full, 2, 4, []int{0, 1}, []int{0, 1, 3}},
		{Line, 0, 4, nil, []int{1}},
		{Line, 2, 4, []int{1}, []int{1, 3}},
		{Line, 3, 4, []int{2}, []int{2}},
		{Star, 0, 4, nil, []int{1, 2, 3}},
		{Star, 3, 4, []int{0}, []int{0}},
	}
	for _, c := range cases {
		if got := c.top.Dials(c.i); !slices.Equal(got, c.dials) && !(len(got) == 0 && len(c.dials) == 0) {
			t.Errorf("%s.Dials(%d) = %v, want %v", c.top, c.i, got, c.dials)
		}
		if got := c.top.Neighbours(c.i, c.n); !slices.Equal(got, c.nbs) {
			t.Errorf("%s.Neighbours(%d, %d) = %v, want %v", c.top, c.i, c.n, got, c.nbs)
		}
	}
}

func TestParseTopology(t *testing.T) {
	for in, want := range map[string]Topology{"": Full, "full": Full, "line": Line, "star": Star} {
		if got, err := ParseTopology(in); err != nil || got != want {
			t.Errorf("ParseTopology(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseTopology("ring"); err == nil {
		t.Error("ParseTopology(ring) succeeded")
	}
}
