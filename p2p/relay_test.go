package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

// routedLine builds a line of n hosts that gossip on one topic, each host
// serving echo, and waits until h[0] has heard h[n-1] (so it knows a first
// hop toward it) and h[n-1] has heard h[0].
func routedLine(t *testing.T, n int, mods ...func(*Config)) []*Host {
	t.Helper()
	hs := line(t, n, mods...)
	for _, h := range hs {
		h.HandleRequest(echo, func(_ context.Context, from string, req []byte) ([]byte, error) {
			return append([]byte(from+":"), req...), nil
		})
	}
	ts, ss := join(t, hs, "routes")
	waitTopicPeers(t, hs, ts)
	first, last := collect(t, ss[0]), collect(t, ss[n-1])
	warm(t, ts[n-1], first)
	warm(t, ts[0], last)
	return hs
}

func TestRequestRoutedAlongLine(t *testing.T) {
	hs := routedLine(t, 4)
	a, d := hs[0], hs[3]
	require.NotContains(t, a.Peers(), d.ID(), "the ends of the line must not be connected")

	resp, err := a.Request(t.Context(), d.ID(), echo, []byte("ping"))
	require.NoError(t, err)
	require.Equal(t, a.ID()+":ping", string(resp), "the handler sees the origin, not the last relay")
	resp, err = d.Request(t.Context(), a.ID(), echo, []byte("pong"))
	require.NoError(t, err)
	require.Equal(t, d.ID()+":pong", string(resp))
	require.EqualValues(t, 1, a.Stats().Routed)
	require.EqualValues(t, 2, hs[1].Stats().Relayed, "one each way")
	require.EqualValues(t, 2, hs[2].Stats().Relayed)

	// A handler error travels back as ErrRemote, as on a direct stream.
	d.HandleRequest(echo, func(context.Context, string, []byte) ([]byte, error) {
		return nil, errTest
	})
	_, err = a.Request(t.Context(), d.ID(), echo, []byte("x"))
	require.ErrorIs(t, err, ErrRemote)
	require.ErrorContains(t, err, errTest.Error())

	// A frame near the size limit fits the routed overhead.
	d.HandleRequest(echo, func(_ context.Context, _ string, req []byte) ([]byte, error) { return req, nil })
	big := make([]byte, a.cfg.MaxMessageSize)
	resp, err = a.Request(t.Context(), d.ID(), echo, big)
	require.NoError(t, err)
	require.Len(t, resp, len(big))
}

var errTest = errors.New("handler says no")

// TestRequestRoutedAroundRefusedConnection: two nodes that cannot keep a
// connection to each other (a firewall between them) still exchange
// requests through the node both reach, whether the dialler's gater
// refuses the dial or the target closes the connection once the handshake
// names the dialler.
func TestRequestRoutedAroundRefusedConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		gated func(i int) bool // which of the three hosts refuse the other end
	}{
		{"both ends refuse", func(i int) bool { return i != 1 }},
		{"only the target refuses", func(i int) bool { return i == 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var denied [2]string
			deny := func(p string) bool {
				mu.Lock()
				defer mu.Unlock()
				return p == denied[0] || p == denied[1]
			}
			hs := make([]*Host, 3)
			for i := range hs {
				hs[i] = newHost(t, func(c *Config) {
					if tc.gated(i) {
						c.Deny = deny
					}
				})
			}
			a, c := hs[0], hs[2]
			mu.Lock()
			denied = [2]string{a.ID(), c.ID()}
			mu.Unlock()
			connect(t, hs[0], hs[1])
			connect(t, hs[1], hs[2])
			for _, h := range hs {
				h.HandleRequest(echo, func(_ context.Context, from string, req []byte) ([]byte, error) {
					return append([]byte(from+":"), req...), nil
				})
			}
			ts, ss := join(t, hs, "routes")
			waitTopicPeers(t, hs, ts)
			warm(t, ts[2], collect(t, ss[0]))
			require.NoError(t, a.AddAddrs(c.ID(), c.Addrs()), "a knows how to dial c, and tries")

			for range 3 {
				resp, err := a.Request(t.Context(), c.ID(), echo, []byte("around"))
				require.NoError(t, err)
				require.Equal(t, a.ID()+":around", string(resp))
			}
			require.Equal(t, []string{hs[1].ID()}, c.Peers(), "c never kept a connection to a")
		})
	}
}

// TestRequestRetriedRoutedWhenConnectionDies: a connection dialled for a
// request that dies under it (here the target closes it from its handler)
// sends the request again through the mesh: delivery is at least once.
func TestRequestRetriedRoutedWhenConnectionDies(t *testing.T) {
	hs := routedLine(t, 3)
	a, c := hs[0], hs[2]
	var mu sync.Mutex
	calls := 0
	c.HandleRequest(echo, func(_ context.Context, from string, req []byte) ([]byte, error) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			_ = c.host.Network().ClosePeer(a.host.ID())
		}
		return append([]byte(from+":"), req...), nil
	})
	require.NoError(t, a.AddAddrs(c.ID(), c.Addrs()))
	require.NotContains(t, a.Peers(), c.ID())

	resp, err := a.Request(t.Context(), c.ID(), echo, []byte("again"))
	require.NoError(t, err)
	require.Equal(t, a.ID()+":again", string(resp))
	mu.Lock()
	require.Equal(t, 2, calls, "the direct attempt, then the routed one")
	calls = 0
	mu.Unlock()

	// A connection that was up before the request broke after the handler
	// may have run: the error is reported, not retried.
	require.NoError(t, a.Connect(t.Context(), c.Addrs()[0]))
	_, err = a.Request(t.Context(), c.ID(), echo, []byte("once"))
	require.Error(t, err)
	mu.Lock()
	require.Equal(t, 1, calls)
	mu.Unlock()
}

func TestRequestWithoutRoute(t *testing.T) {
	a := newHost(t)
	b := newHost(t)
	_, err := a.Request(t.Context(), b.ID(), echo, []byte("x"))
	require.ErrorIs(t, err, ErrNoRoute)
}

// TestRoutedRequestCannotBeForged sends hand-made routed frames to the
// target over a direct connection: a bad signature, a replay, a stale time
// and an exhausted hop count on a relay are all refused.
func TestRoutedRequestCannotBeForged(t *testing.T) {
	hs := routedLine(t, 3)
	a, b, c := hs[0], hs[1], hs[2]
	ctx := t.Context()
	send := func(via *Host, r *routedRequest) (byte, []byte) {
		t.Helper()
		status, body, err := a.exchange(ctx, via.host.ID(), protoRoute, r.encode(), a.cfg.MaxMessageSize+routeOverhead)
		require.NoError(t, err)
		return status, body
	}
	fresh := func() *routedRequest {
		r := &routedRequest{Hops: maxRouteHops, Origin: a.host.ID(), Target: c.host.ID(), Proto: echo,
			Time: time.Now().UnixNano(), Payload: []byte("hi")}
		_, _ = rand.Read(r.ID[:])
		r.sign(a.cfg.Key)
		return r
	}

	r := fresh()
	status, body := send(b, r)
	require.Equal(t, statusOK, status, "%s", body)
	inner, resp, err := decodeRouteResp(c.host.ID(), r.ID, body)
	require.NoError(t, err)
	require.Equal(t, statusOK, inner)
	require.Equal(t, a.ID()+":hi", string(resp))

	_, _, err = decodeRouteResp(b.host.ID(), r.ID, body)
	require.Error(t, err, "an answer must verify only under the target's key")

	status, body = send(b, r)
	require.Equal(t, statusError, status)
	require.Contains(t, string(body), "replayed")

	r = fresh()
	r.Payload = []byte("changed after signing")
	status, body = send(b, r)
	require.Equal(t, statusError, status)
	require.Contains(t, string(body), "signature")

	r = fresh()
	r.Time = time.Now().Add(-2 * routeWindow).UnixNano()
	r.sign(a.cfg.Key)
	status, body = send(b, r)
	require.Equal(t, statusError, status)
	require.Contains(t, string(body), "clock")

	r = fresh()
	r.Hops = 0
	status, body = send(b, r)
	require.Equal(t, statusError, status)
	require.Contains(t, string(body), "hop limit")

	r = fresh()
	r.Target = peer.ID("unknown") // not a valid multihash
	status, _ = send(b, r)
	require.Equal(t, statusError, status)
}
