package transfer

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// startMesh starts a local mesh of n nodes, closed in cleanup.
func startMesh(t *testing.T, n int, rateLimits bool) *testnet.Net {
	t.Helper()
	return startWired(t, testnet.Options{Nodes: n, Tune: func(_ int, c *testnet.NodeConfig) { c.Node.RateLimits = rateLimits }})
}

// startWired starts the mesh opts describes in a test directory, closed in
// cleanup.
func startWired(t *testing.T, opts testnet.Options) *testnet.Net {
	t.Helper()
	opts.Dir = t.TempDir()
	// The nodes live as long as the context Start gets: not a timeout.
	net, err := testnet.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	return net
}

// dial connects an ephemeral agent, closed in cleanup (before the mesh).
func dial(t *testing.T, url, name string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: url, Name: name})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitRoute waits until a direct message from c reaches agent to, which on
// a mesh needs the roster to have spread: until then the node answers
// AGENT_NOT_FOUND. The probe is ordinary chat, which transfer ignores.
func waitRoute(t *testing.T, c *client.Client, to string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := c.Send(ctx, to, "probe")
		if err != nil && !errors.Is(err, &client.ServerError{Code: protocol.CodeAgentNotFound}) &&
			!errors.Is(err, &client.ServerError{Code: protocol.CodeRateLimited}) {
			t.Logf("probe %s: %v", to, err)
		}
		return err == nil
	}, 30*time.Second, 1100*time.Millisecond, "no route to %s", to)
}

// runInBackground runs f until the test ends, then cancels and waits.
func runInBackground(t *testing.T, f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// receiverHarness runs a Receiver whose offers and auto-accept results the
// test observes; autoDir, when set, auto-accepts into that directory.
type receiverHarness struct {
	*Receiver
	offers  chan Offer
	results chan receiveOutcome
	autoDir atomic.Pointer[string]
}

type receiveOutcome struct {
	res *Result
	err error
}

func startReceiver(t *testing.T, c *client.Client, cfg ReceiverConfig) *receiverHarness {
	h := &receiverHarness{offers: make(chan Offer, 16), results: make(chan receiveOutcome, 16)}
	cfg.OnOffer = func(o Offer) (string, bool) {
		h.offers <- o
		if d := h.autoDir.Load(); d != nil {
			return *d, true
		}
		return "", false
	}
	cfg.OnResult = func(res *Result, err error) { h.results <- receiveOutcome{res, err} }
	h.Receiver = NewReceiver(c, cfg)
	runInBackground(t, h.Run)
	return h
}

func (h *receiverHarness) nextOffer(t *testing.T) Offer {
	t.Helper()
	select {
	case o := <-h.offers:
		return o
	case <-time.After(30 * time.Second):
		t.Fatal("no offer")
		return Offer{}
	}
}

func (h *receiverHarness) nextResult(t *testing.T) receiveOutcome {
	t.Helper()
	select {
	case r := <-h.results:
		return r
	case <-time.After(60 * time.Second):
		t.Fatal("no result")
		return receiveOutcome{}
	}
}

// waitFT reads c's events until an `_ft` message of kind about tid arrives
// from agent from.
func waitFT(t *testing.T, c *client.Client, from, tid, kind string) ftMsg {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if m, ok := ev.(*protocol.MsgFrame); ok && m.From == from {
				if ft, ok := parseFT(m.Content); ok && ft.TID == tid && ft.FT == kind {
					return ft
				}
			}
		case <-timeout:
			t.Fatalf("no %s for %s from %s", kind, tid, from)
		}
	}
}

// forgedTransfer plays a sender by hand, as a hostile agent would: it
// offers archive (with its correct hash) under the given file list, sends
// it in one chunk once accepted, completes it and returns the ack.
func forgedTransfer(t *testing.T, c *client.Client, to, archive string) ftMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tid, sum := newTID(), archiveSHA256(archive)
	offer := encodeFT(offerWire{FT: ftOffer, TID: tid, Files: []FileInfo{{Name: "innocent.txt", Size: int64(len(archive))}},
		TotalSize: int64(len(archive)), SHA256: sum, Chunks: 1, SenderNick: "mallory"})
	require.NoError(t, sendDM(ctx, c, to, offer))
	waitFT(t, c, to, tid, ftAccept)
	require.NoError(t, c.SendFileChunk(ctx, to, encodeFT(chunkWire{FT: ftChunk, TID: tid, Idx: 0, Total: 1, Data: archive})))
	require.NoError(t, sendDM(ctx, c, to, encodeFT(completeWire{FT: ftComplete, TID: tid, SHA256: sum})))
	return waitFT(t, c, to, tid, ftAck)
}

// requireEmptyOrMissing checks that nothing was written in dir.
func requireEmptyOrMissing(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	require.NoError(t, err)
	require.Empty(t, entries, "nothing may be written in %s", dir)
}

func randomBytes(rng *rand.Rand, n int, zeroEvery int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
		if zeroEvery > 0 && i%zeroEvery == 0 {
			b[i] = 0
		}
	}
	return b
}

// TestTransferAcrossMesh runs every transfer between an agent on node 0
// and an agent on node 1 of a two-node mesh, so offers, chunks and acks all
// cross it.
func TestTransferAcrossMesh(t *testing.T) {
	net := startMesh(t, 2, false)
	alice := dial(t, net.Nodes[0].WS(), "alice")
	mallory := dial(t, net.Nodes[0].WS(), "mallory")
	bob := dial(t, net.Nodes[1].WS(), "bob")
	for _, from := range []*client.Client{alice, mallory} {
		waitRoute(t, from, bob.AgentID())
		waitRoute(t, bob, from.AgentID())
	}
	rx := startReceiver(t, bob, ReceiverConfig{})
	tx := NewSender(alice, SenderConfig{})
	runInBackground(t, tx.Run)

	t.Run("multi-file transfer arrives byte-identical", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 7))
		src := t.TempDir()
		want := map[string][]byte{
			"notes.txt":   []byte("first line\n\"quoted\" and \\backslashed\\\ttab\n=== not a header ===\nünïcødé 😀\n"),
			"blob.bin":    randomBytes(rng, 200_000, 97), // NULs throughout
			"dir/b.txt":   []byte("in a subdirectory\n"),
			"dir/sub/c.c": []byte("int main(void) { return 0; }\n"),
			"big.bin":     randomBytes(rng, 1_600_000, 0), // base64 of it is 2.1 MB: three chunks
			"no-eol.json": []byte(`{"trailing":"newline missing"}`),
		}
		for name, data := range want {
			p := filepath.Join(src, filepath.FromSlash(name))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, data, 0o644))
		}
		paths := []string{filepath.Join(src, "notes.txt"), filepath.Join(src, "blob.bin"), filepath.Join(src, "dir"),
			filepath.Join(src, "big.bin"), filepath.Join(src, "no-eol.json")}

		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		type sent struct {
			res *SendResult
			err error
		}
		done := make(chan sent, 1)
		go func() {
			res, err := tx.Send(ctx, bob.AgentID(), paths)
			done <- sent{res, err}
		}()

		offer := rx.nextOffer(t)
		require.Equal(t, alice.AgentID(), offer.From)
		require.Equal(t, "alice", offer.SenderNick)
		require.Len(t, offer.TID, 16)
		require.GreaterOrEqual(t, offer.Chunks, 3)
		var total int64
		got := map[string]int64{}
		for _, f := range offer.Files {
			got[f.Name] = f.Size
			total += f.Size
		}
		require.Equal(t, map[string]int64{"notes.txt": int64(len(want["notes.txt"])), "blob.bin": 200_000,
			"dir/b.txt": 18, "dir/sub/c.c": 29, "big.bin": 1_600_000, "no-eol.json": 30}, got)
		require.Equal(t, total, offer.TotalSize)
		require.Equal(t, []Offer{offer}, rx.Offers())

		dst := t.TempDir()
		res, err := rx.Accept(ctx, offer.TID, dst)
		require.NoError(t, err)
		s := <-done
		require.NoError(t, s.err)
		require.Equal(t, offer.TID, s.res.TID)
		require.Equal(t, offer.SHA256, s.res.SHA256)
		require.Equal(t, res.SHA256, s.res.SHA256)
		require.Empty(t, rx.Offers(), "an accepted offer is no longer waiting")

		require.Equal(t, dst, res.Dir)
		require.Len(t, res.Files, len(want))
		for _, f := range res.Files {
			require.Equal(t, filepath.Join(dst, filepath.FromSlash(f.Name)), f.Path)
			data, err := os.ReadFile(f.Path)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want[f.Name], data), "%s arrived changed", f.Name)
			require.Equal(t, int64(len(data)), f.Size)
		}
		_, err = rx.Accept(ctx, offer.TID, dst)
		require.ErrorIs(t, err, ErrUnknownOffer, "an offer is accepted once")
	})

	t.Run("corrupted chunk is acknowledged as hash mismatch and nothing is written", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "in")
		rx.autoDir.Store(&dst)
		defer rx.autoDir.Store(nil)
		tx.mangle = func(idx int, data string) string {
			if idx != 0 {
				return data
			}
			return "%" + data[1:] // "# --- SLURP v4 ---" becomes "% --- …": same length, other bytes
		}
		defer func() { tx.mangle = nil }()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_, err := tx.SendFiles(ctx, bob.AgentID(), []File{{Name: "a.txt", Data: []byte("payload\n")}})
		require.ErrorIs(t, err, ErrHashMismatch)
		<-rx.offers
		out := rx.nextResult(t)
		require.ErrorIs(t, out.err, ErrHashMismatch)
		require.Empty(t, out.res.Files)
		requireEmptyOrMissing(t, dst)
	})

	t.Run("oversize offer is rejected", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tid := newTID()
		offer := encodeFT(offerWire{FT: ftOffer, TID: tid, Files: []FileInfo{{Name: "huge.iso", Size: 60 << 20}},
			TotalSize: 60 << 20, SHA256: strings.Repeat("ab", 32), Chunks: 60, SenderNick: "mallory"})
		require.NoError(t, sendDM(ctx, mallory, bob.AgentID(), offer))
		rej := waitFT(t, mallory, bob.AgentID(), tid, ftReject)
		require.Contains(t, rej.Reason, "too large")
		require.Empty(t, rx.Offers(), "a refused offer is not kept")
		select {
		case o := <-rx.offers:
			t.Fatalf("OnOffer was told of the refused offer %+v", o)
		default:
		}
	})

	t.Run("archive entries outside the target are never written", func(t *testing.T) {
		outside := t.TempDir()
		for name, entry := range map[string]string{
			"dot-dot":        "../escape.txt",
			"deep dot-dot":   "sub/../../escape.txt",
			"absolute":       filepath.Join(outside, "abs.txt"),
			"backslash":      `..\escape.txt`,
			"dots-only path": "....//escape.txt",
		} {
			t.Run(name, func(t *testing.T) {
				parent := t.TempDir()
				dst := filepath.Join(parent, "target")
				rx.autoDir.Store(&dst)
				defer rx.autoDir.Store(nil)
				// A good file first: the whole transfer fails, so it is not written either.
				archive := Pack([]File{{Name: "good.txt", Data: []byte("fine\n")}, {Name: entry, Data: []byte("owned\n")}})
				ack := forgedTransfer(t, mallory, bob.AgentID(), archive)
				require.NotNil(t, ack.OK)
				require.False(t, *ack.OK)
				require.Contains(t, ack.Error, "unsafe path")
				<-rx.offers
				out := rx.nextResult(t)
				require.ErrorIs(t, out.err, ErrUnsafePath)
				requireEmptyOrMissing(t, dst)
				entries, err := os.ReadDir(parent)
				require.NoError(t, err)
				require.Empty(t, entries, "nothing beside the target either")
				requireEmptyOrMissing(t, outside)
			})
		}
	})
}

// TestTransferAlongFirewalledLine sends a file between the ends of a line
// of four nodes whose last node lets only its neighbour connect: the offer,
// the megabyte chunks and the acks travel hop by hop through two relays.
func TestTransferAlongFirewalledLine(t *testing.T) {
	net := startWired(t, testnet.Options{Nodes: 4, Topology: testnet.Line, Tune: func(i int, c *testnet.NodeConfig) {
		c.Node.RateLimits = false
		if i == 3 {
			testnet.OnlyWired(c)
		}
	}})
	alice := dial(t, net.Nodes[0].WS(), "alice")
	dave := dial(t, net.Nodes[3].WS(), "dave")
	waitRoute(t, alice, dave.AgentID())
	waitRoute(t, dave, alice.AgentID())
	dst := t.TempDir()
	rx := startReceiver(t, dave, ReceiverConfig{})
	rx.autoDir.Store(&dst)
	tx := NewSender(alice, SenderConfig{})
	runInBackground(t, tx.Run)

	data := randomBytes(rand.New(rand.NewPCG(4, 4)), 1_600_000, 0) // three chunks near the frame limit
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sent, err := tx.SendFiles(ctx, dave.AgentID(), []File{{Name: "far.bin", Data: data}})
	require.NoError(t, err)
	require.Equal(t, alice.AgentID(), rx.nextOffer(t).From)
	out := rx.nextResult(t)
	require.NoError(t, out.err)
	require.Equal(t, sent.SHA256, out.res.SHA256)
	got, err := os.ReadFile(filepath.Join(dst, "far.bin"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "the file arrived changed")
	require.Equal(t, []string{net.Nodes[2].Host.ID()}, net.Nodes[3].Host.Peers(), "the chunks must not have gone direct")
}

// TestTransferWithRateLimits runs a transfer on one node with its default
// rate limits, through the one-shot Send: offer and complete (and accept
// and ack) follow each other faster than the node's one MSG per second, so
// both sides must wait and retry.
func TestTransferWithRateLimits(t *testing.T) {
	net := startMesh(t, 1, true)
	alice := dial(t, net.Nodes[0].WS(), "alice")
	bob := dial(t, net.Nodes[0].WS(), "bob")
	rx := startReceiver(t, bob, ReceiverConfig{})
	dst := t.TempDir()
	rx.autoDir.Store(&dst)

	src := filepath.Join(t.TempDir(), "hello.txt")
	require.NoError(t, os.WriteFile(src, []byte("hello\n"), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Send(ctx, alice, bob.AgentID(), []string{src})
	require.NoError(t, err)
	require.Equal(t, []FileInfo{{Name: "hello.txt", Size: 6}}, res.Files)
	out := rx.nextResult(t)
	require.NoError(t, out.err)
	data, err := os.ReadFile(filepath.Join(dst, "hello.txt"))
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(data))
}

// TestReceiverTimesOut: a sender that stops after accept gets an ack with
// ok:false once ReceiveTimeout passes.
func TestReceiverTimesOut(t *testing.T) {
	net := startMesh(t, 1, false)
	mallory := dial(t, net.Nodes[0].WS(), "mallory")
	bob := dial(t, net.Nodes[0].WS(), "bob")
	rx := startReceiver(t, bob, ReceiverConfig{ReceiveTimeout: time.Second})
	dst := t.TempDir()
	rx.autoDir.Store(&dst)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tid := newTID()
	require.NoError(t, sendDM(ctx, mallory, bob.AgentID(), encodeFT(offerWire{FT: ftOffer, TID: tid,
		Files: []FileInfo{{Name: "x", Size: 1}}, TotalSize: 1, SHA256: strings.Repeat("0", 64), Chunks: 2})))
	waitFT(t, mallory, bob.AgentID(), tid, ftAccept)
	require.NoError(t, mallory.SendFileChunk(ctx, bob.AgentID(), encodeFT(chunkWire{FT: ftChunk, TID: tid, Idx: 0, Total: 2, Data: "x"})))
	ack := waitFT(t, mallory, bob.AgentID(), tid, ftAck)
	require.False(t, *ack.OK)
	require.Equal(t, "timeout", ack.Error)
	require.ErrorIs(t, rx.nextResult(t).err, ErrTimeout)
	requireEmptyOrMissing(t, dst)
}
