package p2p

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	burstN    = 10_000
	burstSize = 200
)

// burst publishes n messages of burstSize bytes from the head of a line
// A-B-C as fast as Publish allows and returns how many distinct ones C
// received, once all arrived or arrivals went quiet. A only publishes (no
// subscription); B and C subscribe and are drained, so every loss is the
// router's.
func burst(t *testing.T, hs []*Host, n int) (received int) {
	t.Helper()
	const topic = "agentchat/1/chan/burst"
	ts := make([]*Topic, len(hs))
	for i, h := range hs {
		tp, err := h.Join(topic)
		require.NoError(t, err)
		ts[i] = tp
	}
	var atC *collector
	for i := 1; i < len(hs); i++ {
		s, err := ts[i].Subscribe()
		require.NoError(t, err)
		t.Cleanup(s.Cancel)
		atC = collect(t, s) // the last one is C's
	}
	require.Eventually(t, func() bool {
		return slices.Contains(ts[0].Peers(), hs[1].ID()) &&
			slices.Contains(ts[1].Peers(), hs[2].ID()) &&
			slices.Contains(ts[2].Peers(), hs[1].ID())
	}, 10*time.Second, 20*time.Millisecond, "topic peers never formed")
	warm(t, ts[0], atC)

	// Publish from one goroutine per CPU: signing is the publisher's cost,
	// and this is as fast as this host can publish.
	start := time.Now()
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			pad := make([]byte, burstSize)
			for i := w; i < n; i += workers {
				msg := fmt.Appendf(nil, "burst %05d ", i)
				msg = append(msg, pad[:burstSize-len(msg)]...)
				if err := ts[0].Publish(t.Context(), msg); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
	published := time.Since(start)

	// Wait for all, or for arrivals to stop for a second (losses never
	// arrive; a second without progress on loopback means they are gone).
	last, lastChange := -1, time.Now()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		got := atC.count("burst ")
		if got == n {
			break
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	received = atC.count("burst ")
	seen := map[string]bool{}
	atC.mu.Lock()
	for _, m := range atC.msgs {
		if string(m.Data[:6]) == "burst " {
			require.False(t, seen[string(m.Data)], "duplicate delivery")
			seen[string(m.Data)] = true
		}
	}
	atC.mu.Unlock()
	t.Logf("published %d in %v; C received %d after %v", n, published, received, time.Since(start))
	return received
}

// lossCounters sums every counter that records a lost message.
func lossCounters(hs []*Host) (dropped, undeliverable uint64) {
	for _, h := range hs {
		s := h.Stats()
		dropped += s.Dropped + s.DroppedControl
		undeliverable += s.Undeliverable
	}
	return dropped, undeliverable
}

// TestBurstDefaultQueues: with the default QueueSize a 10,000-message burst
// crosses two hops with nothing lost and nothing dropped.
func TestBurstDefaultQueues(t *testing.T) {
	hs := line(t, 3)
	got := burst(t, hs, burstN)
	dropped, undeliverable := lossCounters(hs)
	for _, h := range hs {
		t.Logf("%s: %+v", h.ID()[len(h.ID())-6:], h.Stats())
	}
	require.Equal(t, burstN, got, "messages lost")
	require.Zero(t, dropped)
	require.Zero(t, undeliverable)
}

// TestBurstSmallQueuesCountDrops: with the library's default queue of 32
// the same burst may lose messages, and every loss is counted.
func TestBurstSmallQueuesCountDrops(t *testing.T) {
	hs := line(t, 3, func(c *Config) { c.QueueSize = 32 })
	n := burstN
	if raceEnabled {
		n = burstN / 4 // the point is counting, and -race is ~5x slower
	}
	got := burst(t, hs, n)
	dropped, undeliverable := lossCounters(hs)
	for _, h := range hs {
		t.Logf("%s: %+v", h.ID()[len(h.ID())-6:], h.Stats())
	}
	t.Logf("lost %d of %d; dropped %d, undeliverable %d", n-got, n, dropped, undeliverable)
	if got < n {
		require.NotZero(t, dropped+undeliverable, "messages lost silently")
	}
}
