package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/protocol"
)

// clientFrame encodes one client-to-server frame (RFC 6455 §5.2): masked
// with key, in the shortest length form.
func clientFrame(op byte, fin bool, payload []byte, key [4]byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range payload {
		b[start+i] ^= key[i&3]
	}
	return b
}

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

func newTestReader(stream []byte, limit int64) *frameReader {
	r := &frameReader{src: bytes.NewReader(stream), limit: limit}
	r.acquire()
	return r
}

type readFrame struct {
	op      byte
	payload []byte
}

// readAll reads frames until an error, which it returns with them.
func readAll(r *frameReader) ([]readFrame, error) {
	var got []readFrame
	for {
		op, p, err := r.next()
		if err != nil {
			return got, err
		}
		got = append(got, readFrame{op, p})
	}
}

func TestFrameReaderMessages(t *testing.T) {
	long := bytes.Repeat([]byte("0123456789abcdefg"), 4000) // 68,000 bytes: 64-bit length
	mid := bytes.Repeat([]byte("xyz"), 100)                 // 300 bytes: 16-bit length
	var stream []byte
	for _, f := range [][]byte{
		clientFrame(opText, true, []byte(`{"type":"PING"}`), testKey),
		clientFrame(opBinary, true, mid, testKey),
		clientFrame(opText, true, long, testKey),
		clientFrame(opText, false, []byte("hel"), testKey),
		clientFrame(opPing, true, []byte("are you there"), testKey),
		clientFrame(opContinuation, false, []byte("lo, "), [4]byte{1, 2, 3, 4}),
		clientFrame(opContinuation, true, []byte("world"), [4]byte{9, 8, 7, 6}),
		clientFrame(opText, true, nil, testKey),
		clientFrame(opPong, true, nil, testKey),
		clientFrame(opClose, true, []byte{0x03, 0xE8, 'b', 'y', 'e'}, testKey),
	} {
		stream = append(stream, f...)
	}
	got, err := readAll(newTestReader(stream, 1<<20))
	require.ErrorIs(t, err, io.EOF, "a stream ending between frames ends cleanly")
	require.Equal(t, []readFrame{
		{opText, []byte(`{"type":"PING"}`)},
		{opBinary, mid},
		{opText, long},
		{0, nil},
		{opPing, []byte("are you there")},
		{0, nil},
		{opText, []byte("hello, world")},
		{opText, []byte{}},
		{opPong, []byte{}},
		{opClose, []byte{0x03, 0xE8, 'b', 'y', 'e'}},
	}, got)
}

func TestFrameReaderViolations(t *testing.T) {
	frame := func(b0, b1 byte, rest ...byte) []byte { return append([]byte{b0, b1}, rest...) }
	start := clientFrame(opText, false, []byte("a"), testKey)
	for _, tc := range []struct {
		name   string
		stream []byte
		code   int
	}{
		{"reserved bit", frame(0x80|0x40|opText, 0x80, testKey[:]...), protocol.CloseProtocolError},
		{"unmasked", frame(0x80|opText, 1, 'a'), protocol.CloseProtocolError},
		{"unknown data opcode", clientFrame(0x3, true, nil, testKey), protocol.CloseProtocolError},
		{"unknown control opcode", clientFrame(0xB, true, nil, testKey), protocol.CloseProtocolError},
		{"fragmented control", clientFrame(opPing, false, nil, testKey), protocol.CloseProtocolError},
		{"long control", clientFrame(opPing, true, make([]byte, 126), testKey), protocol.CloseProtocolError},
		{"continuation first", clientFrame(opContinuation, true, []byte("a"), testKey), protocol.CloseProtocolError},
		{"message inside a message", append(start, clientFrame(opText, true, []byte("b"), testKey)...), protocol.CloseProtocolError},
		{"one frame too large", clientFrame(opText, true, make([]byte, 101), testKey), protocol.CloseTooBig},
		{"fragments too large", append(clientFrame(opText, false, make([]byte, 60), testKey),
			clientFrame(opContinuation, true, make([]byte, 41), testKey)...), protocol.CloseTooBig},
		{"length beyond int64", frame(0x80|opText, 0x80|127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4), protocol.CloseProtocolError},
		{"length beyond the limit", frame(0x80|opText, 0x80|127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4), protocol.CloseTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(newTestReader(tc.stream, 100))
			var fe *frameError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.code, fe.code)
		})
	}
}

// A frame cut off by the peer is an unexpected EOF, wherever it is cut.
func TestFrameReaderTruncated(t *testing.T) {
	whole := clientFrame(opText, true, bytes.Repeat([]byte("q"), 300), testKey)
	for cut := 1; cut < len(whole); cut++ {
		_, err := readAll(newTestReader(whole[:cut], 1<<20))
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "cut at %d", cut)
	}
}

func TestParseClose(t *testing.T) {
	code := func(c int, reason string) []byte {
		return append(binary.BigEndian.AppendUint16(nil, uint16(c)), reason...)
	}
	for _, tc := range []struct {
		payload []byte
		code    int // the parsed code, or the close code of the violation
		bad     bool
	}{
		{nil, 1005, false},
		{[]byte{3}, protocol.CloseProtocolError, true},
		{code(1000, "bye"), 1000, false},
		{code(1001, ""), 1001, false},
		{code(1013, ""), 1013, false},
		{code(3000, ""), 3000, false},
		{code(4999, "x"), 4999, false},
		{code(999, ""), protocol.CloseProtocolError, true},
		{code(1004, ""), protocol.CloseProtocolError, true},
		{code(1005, ""), protocol.CloseProtocolError, true},
		{code(1006, ""), protocol.CloseProtocolError, true},
		{code(1015, ""), protocol.CloseProtocolError, true},
		{code(2999, ""), protocol.CloseProtocolError, true},
		{code(5000, ""), protocol.CloseProtocolError, true},
		{code(1000, "\xff"), protocol.CloseInvalidPayload, true},
	} {
		got, err := parseClose(tc.payload)
		if !tc.bad {
			require.NoError(t, err, "%x", tc.payload)
			require.Equal(t, tc.code, got)
			continue
		}
		var fe *frameError
		require.ErrorAs(t, err, &fe, "%x", tc.payload)
		require.Equal(t, tc.code, fe.code, "%x", tc.payload)
	}
}

// Read buffers go back to the pool on release and come back reset.
func TestFrameReaderReleasesItsBuffer(t *testing.T) {
	stream := append(clientFrame(opText, true, []byte("one"), testKey), clientFrame(opText, true, []byte("two"), testKey)...)
	src := bytes.NewReader(stream)
	r := &frameReader{src: src, limit: 100}
	r.acquire()
	_, p, err := r.next()
	require.NoError(t, err)
	require.Equal(t, "one", string(p))
	require.True(t, r.buffered(), "both frames were read at once")
	r.release()
	require.False(t, r.buffered())
	require.Nil(t, r.br)
	// Reacquired on a fresh source, it reads that source only.
	r.src = bytes.NewReader(clientFrame(opText, true, []byte("three"), testKey))
	r.acquire()
	_, p, err = r.next()
	require.NoError(t, err)
	require.Equal(t, "three", string(p))
}

// FuzzFrameReader feeds arbitrary bytes to the parser (it must fail
// cleanly, never panic or return a message over the limit), and checks
// that a message split into fragments under any key comes back whole.
func FuzzFrameReader(f *testing.F) {
	f.Add(clientFrame(opText, true, []byte(`{"type":"PING"}`), testKey), []byte("hello"), uint8(2), uint32(7))
	f.Add(clientFrame(opClose, true, []byte{3, 0xE8}, testKey), []byte{}, uint8(0), uint32(0))
	f.Add([]byte{0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0xFF, 1, 2, 3, 4}, bytes.Repeat([]byte("ab"), 100), uint8(7), uint32(0xdeadbeef))
	f.Fuzz(func(t *testing.T, raw, msg []byte, parts uint8, key uint32) {
		const limit = 1 << 12
		frames, err := readAll(newTestReader(raw, limit))
		require.Error(t, err)
		for _, fr := range frames {
			require.LessOrEqual(t, len(fr.payload), limit)
		}
		var fe *frameError
		if !errors.As(err, &fe) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, bufio.ErrBufferFull) {
			t.Fatalf("unexpected error kind: %v", err)
		}

		if len(msg) > limit {
			msg = msg[:limit]
		}
		var k [4]byte
		binary.BigEndian.PutUint32(k[:], key)
		n := int(parts%8) + 1
		var stream []byte
		for i := range n {
			op := byte(opContinuation)
			if i == 0 {
				op = opText
			}
			stream = append(stream, clientFrame(op, i == n-1, msg[len(msg)*i/n:len(msg)*(i+1)/n], k)...)
		}
		got, err := readAll(newTestReader(stream, limit))
		require.ErrorIs(t, err, io.EOF)
		require.Len(t, got, n)
		require.Equal(t, byte(opText), got[n-1].op)
		require.Equal(t, string(msg), string(got[n-1].payload))
	})
}

// BenchmarkReadFrame parses one masked client MSG frame from the read
// buffer, as the reader does for every inbound message.
func BenchmarkReadFrame(b *testing.B) {
	payload := []byte(`{"type":"MSG","to":"#general","content":"` + string(bytes.Repeat([]byte("x"), 160)) + `"}`)
	frame := clientFrame(opText, true, payload, testKey)
	src := &loopReader{frame: frame}
	r := &frameReader{src: src, limit: 1 << 20}
	r.acquire()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.next(); err != nil {
			b.Fatal(err)
		}
	}
}

// loopReader yields the same frame forever.
type loopReader struct {
	frame []byte
	off   int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.frame[l.off:])
		n += c
		l.off = (l.off + c) % len(l.frame)
	}
	return n, nil
}
