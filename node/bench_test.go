package node_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
)

// fanoutReceivers is the number of channel members that must receive each
// message in BenchmarkFanout1000.
const fanoutReceivers = 1000

// BenchmarkFanout1000 measures one channel message reaching 1,000 local
// members over real websockets: each iteration sends one MSG and waits until
// every member has read it. Setup (1,001 sockets, each identified and
// auto-joined to the bench channel) runs once, outside the timer.
func BenchmarkFanout1000(b *testing.B) {
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	dd, err := node.OpenDataDir(ctx, b.TempDir())
	require.NoError(b, err)
	cfg := node.LocalConfig()
	cfg.Key, cfg.Store = dd.Key, dd.Store
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.RateLimits = false
	cfg.Notices = false
	cfg.Channels = []string{"#bench"} // one channel: joins cost one AGENT_JOINED each
	srv, err := node.New(cfg)
	require.NoError(b, err)
	require.NoError(b, srv.Listen())
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(ctx) }()
	url := "ws://" + srv.Addr().String() + "/"

	var (
		delivered atomic.Int64 // MSG frames read by all receivers together
		target    atomic.Int64 // delivered value that completes the current iteration
		reached   = make(chan struct{}, 1)
		readers   sync.WaitGroup
		conns     []*websocket.Conn
	)
	defer func() {
		cancel() // the node closes every socket with 1001; readers end
		readers.Wait()
		for _, ws := range conns {
			ws.Close()
		}
		if err := <-runDone; err != nil {
			b.Errorf("node Run: %v", err)
		}
		if err := dd.Close(); err != nil {
			b.Errorf("close data dir: %v", err)
		}
	}()

	msgPrefix := []byte(`{"type":"MSG"`)
	// read drains ws until it closes, counting MSG frames when count is set.
	// It reuses one buffer, so the allocations reported are mostly the
	// node's (gorilla's reader still allocates per message).
	read := func(ws *websocket.Conn, count bool) {
		defer readers.Done()
		var buf bytes.Buffer
		for {
			_, r, err := ws.NextReader()
			if err != nil {
				return
			}
			buf.Reset()
			if _, err := buf.ReadFrom(r); err != nil {
				return
			}
			data := buf.Bytes()
			if count && bytes.HasPrefix(data, msgPrefix) && delivered.Add(1) == target.Load() {
				select {
				case reached <- struct{}{}:
				default:
				}
			}
		}
	}
	// identify runs the ephemeral handshake on ws, then starts its reader.
	identify := func(ws *websocket.Conn, name string, count bool) {
		require.NoError(b, ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"IDENTIFY","name":"`+name+`"}`)))
		_, data, err := ws.ReadMessage() // WELCOME is the first frame
		require.NoError(b, err)
		require.True(b, bytes.HasPrefix(data, []byte(`{"type":"WELCOME"`)), "got %s", data)
		readers.Add(1)
		go read(ws, count)
	}

	// Dial with a few workers; identify from this goroutine (require must
	// not run elsewhere), each reader starting right after its WELCOME.
	const workers = 8
	dialed := make(chan *websocket.Conn, fanoutReceivers+1)
	var dialers sync.WaitGroup
	var left atomic.Int64
	left.Store(fanoutReceivers + 1)
	for range workers {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for left.Add(-1) >= 0 {
				ws, _, err := dialer.Dial(url, nil)
				if err != nil {
					b.Errorf("dial: %v", err)
					return
				}
				dialed <- ws
			}
		}()
	}
	dialers.Wait()
	close(dialed)
	for ws := range dialed {
		conns = append(conns, ws)
	}
	require.Len(b, conns, fanoutReceivers+1)
	for i, ws := range conns[:fanoutReceivers] {
		identify(ws, "m"+strconv.Itoa(i), true)
	}
	sender := conns[fanoutReceivers]
	identify(sender, "sender", false)
	require.Eventually(b, func() bool { return srv.Agents() == fanoutReceivers+1 }, 30*time.Second, 10*time.Millisecond)
	b.Logf("setup: %d sockets in %v", len(conns), time.Since(start).Round(time.Millisecond))

	frame := []byte(`{"type":"MSG","to":"#bench","content":"benchmark fan-out payload of a typical short chat line"}`)
	b.ReportAllocs()
	var sent int64
	for b.Loop() {
		sent++
		target.Store(sent * fanoutReceivers)
		if err := sender.WriteMessage(websocket.TextMessage, frame); err != nil {
			b.Fatalf("send: %v", err)
		}
		select {
		case <-reached:
		case <-time.After(30 * time.Second):
			b.Fatalf("iteration %d: %d of %d deliveries after 30s", sent, delivered.Load(), target.Load())
		}
	}
	b.ReportMetric(float64(sent*fanoutReceivers)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent*fanoutReceivers), "ns/delivery")
}
