package bridge

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/p2p"
)

// A hint lets an origin not delivered from yet start at a message up to
// the one right after the hinted sequence, in the hinted epoch only; it
// never says more than "this message may be the first", and a hint no
// origin could have earned (2^64-1 messages) says nothing.
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
		{"before the hint: in the history", "a", 7, 2, true},
		{"past the hint: a gap this node must wait for", "a", 7, 5, false},
		{"another epoch", "a", 8, 4, false},
		{"no hint for the origin", "b", 7, 1, false},
		{"an impossible hint starts nothing", "max", 7, 9, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.startsAt(tc.origin, tc.epoch, tc.seq); got != tc.want {
				t.Errorf("startsAt(%s, %d, %d) = %v, want %v", tc.origin, tc.epoch, tc.seq, got, tc.want)
			}
		})
	}
}

const hintOrigin = "12D3KooWHintOriginNodeForTheTests"

// history is what a's history answer for channel holds.
func history(t *testing.T, a *Bridge, channel string) historyResponse {
	t.Helper()
	req, err := json.Marshal(historyRequest{Channel: channel})
	require.NoError(t, err)
	resp, err := a.handleHistory(context.Background(), "", req)
	require.NoError(t, err)
	var h historyResponse
	require.NoError(t, json.Unmarshal(resp, &h))
	return h
}

// An answering node whose validator accepted messages 1-6 of an origin but
// has delivered only 1-3 (4 is still on its way, 5 and 6 wait behind it)
// hints 3, which its history holds. A new carrier that gets 5 before 4
// then waits for 4 and delivers 4, 5, 6 in order: a hint past 4 would have
// started it at 5 and dropped 4 as a duplicate, though no history has it.
func TestHintNeverDropsReorderedMessage(t *testing.T) {
	const ch = "#x"
	a, c := newTestBridge(t), newTestBridge(t)
	a.channels[ch] = &carried{order: map[string]*originSeq{}, hinted: map[string]seqHint{}}
	c.channels[ch] = &carried{order: map[string]*originSeq{}, hinted: map[string]seqHint{}}
	msgs := map[uint64]inbound{}
	for seq := uint64(1); seq <= 6; seq++ {
		env, in := chanMsg(t, ch, 7, seq, string(rune('0'+seq)))
		msgs[seq] = in
		require.Equal(t, p2p.Accept, a.validateChan(ch, hintOrigin, env), "message %d rejected", seq)
	}
	a.mu.Lock()
	for _, seq := range []uint64{1, 2, 3, 5, 6} {
		a.order(ch, a.channels[ch], hintOrigin, 7, seq, msgs[seq])
	}
	a.mu.Unlock()
	h := history(t, a, ch)
	require.Equal(t, []seqHint{{Origin: hintOrigin, Epoch: 7, Seq: 3}}, h.Seqs)

	c.mu.Lock()
	c.order(ch, c.channels[ch], hintOrigin, 7, 5, msgs[5])
	c.mu.Unlock()
	c.srv.SeedHistory(ch, h.Frames)
	c.applyHints(ch, h.Seqs)
	c.mu.Lock()
	c.order(ch, c.channels[ch], hintOrigin, 7, 4, msgs[4])
	c.order(ch, c.channels[ch], hintOrigin, 7, 6, msgs[6])
	c.mu.Unlock()
	require.Equal(t, []string{"1", "2", "3", "4", "5", "6"}, contents(c, ch))
	require.Zero(t, c.Stats().Duplicates)
}

// A node's hints name each origin once, itself included, and only what it
// delivered: a sequence number an origin claims out of the blue (here the
// largest there is, held behind a gap) is not passed on to new carriers.
func TestHintsNameEachOriginOnceAndOnlyDelivered(t *testing.T) {
	const ch = "#x"
	a := newTestBridge(t)
	a.channels[ch] = &carried{order: map[string]*originSeq{}, hinted: map[string]seqHint{}, outSeq: 2}
	self := a.host.ID()
	for seq := uint64(1); seq <= 2; seq++ { // gossipsub validates local publishes too
		env, _ := chanMsg(t, ch, a.epoch, seq, "mine")
		a.validateChan(ch, self, env)
	}
	env, in := chanMsg(t, ch, 7, math.MaxUint64-1, "liar")
	require.Equal(t, p2p.Accept, a.validateChan(ch, hintOrigin, env))
	a.mu.Lock()
	a.order(ch, a.channels[ch], hintOrigin, 7, math.MaxUint64-1, in)
	a.mu.Unlock()
	require.Equal(t, []seqHint{{Origin: self, Epoch: a.epoch, Seq: 2}}, history(t, a, ch).Seqs)
}
