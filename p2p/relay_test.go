package p2p

import (
	"bufio"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
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
// sends the request again through the mesh, and the target answers the
// repeat without running the handler again.
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
	require.Equal(t, 1, calls, "the routed retry is answered from the first attempt's reply")
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
// target through a relay: a bad signature, a stale time, an exhausted hop
// count or budget, an unknown or malformed target are refused, and a
// repeat gets the first answer without running the handler again.
func TestRoutedRequestCannotBeForged(t *testing.T) {
	hs := routedLine(t, 3)
	a, b, c := hs[0], hs[1], hs[2]
	var calls atomic.Int32
	c.HandleRequest(echo, func(_ context.Context, from string, req []byte) ([]byte, error) {
		calls.Add(1)
		return append([]byte(from+":"), req...), nil
	})
	send := func(r *routedRequest) (byte, []byte) {
		t.Helper()
		return sendRouted(t, a, b, r)
	}

	r := freshRouted(a, c.host.ID(), echo)
	status, body := send(r)
	require.Equal(t, statusOK, status, "%s", body)
	inner, resp, err := decodeRouteResp(c.host.ID(), r.ID, body)
	require.NoError(t, err)
	require.Equal(t, statusOK, inner)
	require.Equal(t, a.ID()+":hi", string(resp))

	_, _, err = decodeRouteResp(b.host.ID(), r.ID, body)
	require.Error(t, err, "an answer must verify only under the target's key")

	status, again := send(r)
	require.Equal(t, statusOK, status, "%s", again)
	require.Equal(t, body, again, "a repeat gets the first answer")
	require.EqualValues(t, 1, calls.Load(), "and does not run the handler again")

	for _, tc := range []struct {
		name  string
		spoil func(r *routedRequest)
		want  string
	}{
		{"changed after signing", func(r *routedRequest) { r.Payload = []byte("changed") }, "signature"},
		{"stale", func(r *routedRequest) {
			r.Time = time.Now().Add(-2 * routeWindow).UnixNano()
			r.sign(a.cfg.Key)
		}, "clock"},
		{"no hops left", func(r *routedRequest) { r.Hops = 0 }, "hop limit"},
		{"no time left", func(r *routedRequest) { r.Budget = 0 }, "spent"},
		{"unknown target", func(r *routedRequest) {
			_, key := newKey(t)
			r.Target = peerOf(t, key)
			r.sign(a.cfg.Key)
		}, "no route to"},
		{"malformed target", func(r *routedRequest) {
			r.Target = peer.ID("unknown") // not a multihash
			r.sign(a.cfg.Key)
		}, "malformed routed frame: target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := freshRouted(a, c.host.ID(), echo)
			tc.spoil(r)
			status, body := send(r)
			require.Equal(t, statusError, status)
			require.Contains(t, string(body), tc.want)
		})
	}
	require.EqualValues(t, 1, calls.Load())
}

// freshRouted is a signed routed request from a to target for proto.
func freshRouted(a *Host, target peer.ID, proto string) *routedRequest {
	r := a.newRouted(target, proto, []byte("hi"))
	r.Budget = 5 * time.Second
	return r
}

// sendRouted sends r from a to its neighbour via as a routed frame and
// returns via's answer.
func sendRouted(t *testing.T, a, via *Host, r *routedRequest) (byte, []byte) {
	t.Helper()
	status, body, err := a.exchange(t.Context(), via.host.ID(), protoRoute, r.encode(), a.cfg.MaxMessageSize+1+routeOverhead)
	require.NoError(t, err)
	return status, body
}

// TestRoutedUnknownProtocolAdmitsNothing: a routed request for a protocol
// the target has no handler for is answered so (signed, as ErrRemote
// would say) and its ID is not taken, so the same request is served once
// the handler exists.
func TestRoutedUnknownProtocolAdmitsNothing(t *testing.T) {
	hs := routedLine(t, 3)
	a, b, c := hs[0], hs[1], hs[2]
	const later = "/agentchat/test/later/1"
	r := freshRouted(a, c.host.ID(), later)
	status, body := sendRouted(t, a, b, r)
	require.Equal(t, statusOK, status, "%s", body)
	inner, text, err := decodeRouteResp(c.host.ID(), r.ID, body)
	require.NoError(t, err)
	require.Equal(t, statusError, inner)
	require.Contains(t, string(text), "no handler")

	c.HandleRequest(later, func(context.Context, string, []byte) ([]byte, error) { return []byte("served"), nil })
	status, body = sendRouted(t, a, b, r)
	require.Equal(t, statusOK, status, "%s", body)
	inner, resp, err := decodeRouteResp(c.host.ID(), r.ID, body)
	require.NoError(t, err)
	require.Equal(t, statusOK, inner, "%s", resp)
	require.Equal(t, "served", string(resp))
}

// TestRelayClampsHopsAndBudget: a relay passes on at most maxRouteHops-1
// hops whatever the frame claims, and no more time than the origin left.
func TestRelayClampsHopsAndBudget(t *testing.T) {
	hs := routedLine(t, 3, func(c *Config) { c.RequestTimeout = time.Minute })
	a, b, c := hs[0], hs[1], hs[2]
	seen := make(chan *routedRequest, 1)
	c.host.SetStreamHandler(protoRoute, func(s network.Stream) {
		raw, err := readFrame(bufio.NewReader(s), c.cfg.MaxMessageSize+routeOverhead)
		if err == nil {
			if r, err := decodeRouted(raw); err == nil {
				seen <- r
			}
		}
		_ = writeFrame(s, statusError, []byte("seen"))
		_ = s.Close()
	})
	r := freshRouted(a, c.host.ID(), echo)
	r.Hops = 255
	r.Budget = 3 * time.Second
	status, body := sendRouted(t, a, b, r)
	require.Equal(t, statusError, status)
	require.Contains(t, string(body), "seen")
	got := <-seen
	require.Equal(t, byte(maxRouteHops-1), got.Hops)
	require.LessOrEqual(t, got.Budget, r.Budget, "the relay's own minute does not extend the origin's budget")
	require.Positive(t, got.Budget)
}

// TestRoutingLoopCut: relays whose routes form a loop refuse the frame
// when it comes back to one of them, instead of passing it round until
// its hops run out.
func TestRoutingLoopCut(t *testing.T) {
	x, y, z := newHost(t), newHost(t), newHost(t)
	connect(t, x, y)
	connect(t, y, z)
	connect(t, z, x)
	_, key := newKey(t)
	target := peerOf(t, key) // a node none of them reaches
	x.routes.learn(target, y.host.ID(), seqno(1), true)
	y.routes.learn(target, z.host.ID(), seqno(1), true)
	z.routes.learn(target, x.host.ID(), seqno(1), true)
	_, err := x.Request(t.Context(), target.String(), echo, []byte("round"))
	require.ErrorIs(t, err, ErrNoRoute)
	require.ErrorContains(t, err, "routing loop")
}

// TestRequestRoutedAroundDeadHop: with two neighbours leading to the
// target, a request goes through the second when the first cannot pass it
// on.
func TestRequestRoutedAroundDeadHop(t *testing.T) {
	a, b, c, d := newHost(t), newHost(t), newHost(t), newHost(t)
	hs := []*Host{a, b, c, d}
	connect(t, a, b)
	connect(t, b, d)
	connect(t, a, c)
	connect(t, c, d)
	for _, h := range hs {
		h.HandleRequest(echo, func(_ context.Context, from string, req []byte) ([]byte, error) {
			return append([]byte(from+":"), req...), nil
		})
	}
	ts, ss := join(t, hs, "routes")
	require.Eventually(t, func() bool {
		return len(ts[0].Peers()) == 2 && len(ts[3].Peers()) == 2
	}, 10*time.Second, 20*time.Millisecond, "topic peers never formed")
	got := collect(t, ss[0])
	require.Eventually(t, func() bool {
		_ = ts[3].Publish(t.Context(), []byte("warm"))
		return got.countRemote("warm") > 0 && len(a.routes.via(d.host.ID())) == 2
	}, 10*time.Second, 50*time.Millisecond, "a never learned both ways to d")

	first := a.routes.via(d.host.ID())[0]
	dead, alive := b, c
	if first == c.host.ID() {
		dead, alive = c, b
	}
	require.NoError(t, dead.host.Network().ClosePeer(d.host.ID()))
	resp, err := a.Request(t.Context(), d.ID(), echo, []byte("around"))
	require.NoError(t, err)
	require.Equal(t, a.ID()+":around", string(resp))
	require.EqualValues(t, 1, alive.Stats().Relayed)
	require.Zero(t, dead.Stats().Relayed)
}
