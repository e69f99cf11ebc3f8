package node

import (
	"bufio"
	"encoding/binary"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/agentchat/mesh/protocol"
)

// The node reads agent websocket frames itself (RFC 6455 §5, client to
// server) rather than through gorilla's reader, which keeps a goroutine
// blocked inside it and answers control frames internally. Reading frame
// by frame lets the connection stop between any two frames, a pong
// included, and give an idle socket to the parker (park.go) with no
// goroutine and no buffer behind it. Gorilla still does the handshake; the
// node frames what it writes (cork.go).

// WebSocket opcodes (RFC 6455 §5.2), as bytes; gorilla names all but
// the continuation.
const (
	opContinuation byte = 0x0
	opText         byte = websocket.TextMessage
	opBinary       byte = websocket.BinaryMessage
	opClose        byte = websocket.CloseMessage
	opPing         byte = websocket.PingMessage
	opPong         byte = websocket.PongMessage
)

// frameError is a framing violation: the node closes with code, sending
// reason.
type frameError struct {
	code   int
	reason string
}

func (e *frameError) Error() string { return e.reason }

// readBufSize is the read buffer a connection borrows while it reads;
// one that can never park (TLS, parking off) owns a smaller one for life.
const (
	readBufSize  = 4 << 10
	ownedBufSize = 1 << 10
)

// readBufs recycles read buffers: a parked connection holds none.
var readBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}

// frameReader parses client frames from src. It assembles fragmented
// messages and enforces the message size limit; control frames are
// returned to the caller to answer.
type frameReader struct {
	src   io.Reader
	br    *bufio.Reader // borrowed from readBufs; nil while released
	limit int64         // largest message, in bytes
	msg   []byte        // fragments of the message in progress
	msgOp byte          // its opcode; 0 when no message is in progress
	owned bool          // the connection never parks: its buffer is its own
}

// acquire borrows a read buffer.
func (r *frameReader) acquire() {
	switch {
	case r.br != nil:
	case r.owned:
		r.br = bufio.NewReaderSize(r.src, ownedBufSize)
	default:
		r.br = readBufs.Get().(*bufio.Reader)
		r.br.Reset(r.src)
	}
}

// release returns the read buffer, dropping any unread bytes.
func (r *frameReader) release() {
	if r.br != nil && !r.owned {
		r.br.Reset(nil)
		readBufs.Put(r.br)
	}
	r.br = nil
}

// buffered reports whether bytes already read from the socket wait to be
// parsed.
func (r *frameReader) buffered() bool { return r.br != nil && r.br.Buffered() > 0 }

// next reads one frame. It returns a whole data message (opText or
// opBinary, the message), a control frame (its opcode and payload), or
// op 0 with no payload for a fragment that does not finish its message.
// A *frameError is a violation to close for; other errors are the
// socket's.
func (r *frameReader) next() (op byte, payload []byte, err error) {
	h, err := r.br.Peek(2)
	if err != nil {
		if len(h) > 0 {
			err = unexpectedEOF(err)
		}
		return 0, nil, err
	}
	b0, b1 := h[0], h[1]
	fin, op, masked := b0&0x80 != 0, b0&0x0F, b1&0x80 != 0
	hlen := 2
	switch b1 & 0x7F {
	case 126:
		hlen += 2
	case 127:
		hlen += 8
	}
	if masked {
		hlen += 4
	}
	if h, err = r.br.Peek(hlen); err != nil {
		return 0, nil, unexpectedEOF(err)
	}
	var n uint64
	switch b1 & 0x7F {
	case 126:
		n = uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		n = binary.BigEndian.Uint64(h[2:])
	default:
		n = uint64(b1 & 0x7F)
	}
	var key [4]byte
	if masked {
		copy(key[:], h[hlen-4:])
	}
	if _, err := r.br.Discard(hlen); err != nil {
		return 0, nil, err
	}
	if err := r.check(b0, op, fin, masked, n); err != nil {
		return 0, nil, err
	}
	if op >= opClose {
		payload = make([]byte, n)
		if _, err := io.ReadFull(r.br, payload); err != nil {
			return 0, nil, unexpectedEOF(err)
		}
		unmask(key, payload)
		return op, payload, nil
	}
	if op != opContinuation {
		r.msgOp = op
	}
	if fin && len(r.msg) == 0 { // an unfragmented message: no copy
		payload = make([]byte, n)
		if _, err := io.ReadFull(r.br, payload); err != nil {
			return 0, nil, unexpectedEOF(err)
		}
		unmask(key, payload)
		op, r.msgOp = r.msgOp, 0
		return op, payload, nil
	}
	start := len(r.msg)
	r.msg = append(r.msg, make([]byte, n)...)
	if _, err := io.ReadFull(r.br, r.msg[start:]); err != nil {
		return 0, nil, unexpectedEOF(err)
	}
	unmask(key, r.msg[start:])
	if !fin {
		return 0, nil, nil
	}
	op, payload = r.msgOp, r.msg
	r.msg, r.msgOp = nil, 0
	return op, payload, nil
}

// check applies RFC 6455's framing rules and the size limit to a header.
func (r *frameReader) check(b0, op byte, fin, masked bool, n uint64) error {
	switch {
	case b0&0x70 != 0:
		return &frameError{protocol.CloseProtocolError, "Reserved bits set"}
	case !masked:
		return &frameError{protocol.CloseProtocolError, "Client frame not masked"}
	case op >= opClose:
		if op > opPong {
			return &frameError{protocol.CloseProtocolError, "Unknown opcode"}
		}
		if !fin || n > 125 {
			return &frameError{protocol.CloseProtocolError, "Invalid control frame"}
		}
		return nil
	case op > opBinary:
		return &frameError{protocol.CloseProtocolError, "Unknown opcode"}
	case n>>63 != 0:
		return &frameError{protocol.CloseProtocolError, "Invalid payload length"}
	case op == opContinuation && r.msgOp == 0:
		return &frameError{protocol.CloseProtocolError, "Continuation without a message"}
	case op != opContinuation && r.msgOp != 0:
		return &frameError{protocol.CloseProtocolError, "New message inside a fragmented one"}
	case n > uint64(r.limit) || uint64(len(r.msg))+n > uint64(r.limit):
		return &frameError{protocol.CloseTooBig, "Message too large"}
	}
	return nil
}

// unexpectedEOF reports a frame cut short by the peer as such.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// unmask applies a client's masking key to p, which starts a frame's
// payload (RFC 6455 §5.3), eight bytes at a time.
func unmask(key [4]byte, p []byte) {
	k := uint64(binary.LittleEndian.Uint32(key[:]))
	k |= k << 32
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
}

// parseClose reads a close frame's payload: its code (1005 when it has
// none) and whether it is well formed (RFC 6455 §5.5.1, §7.4).
func parseClose(p []byte) (code int, err error) {
	switch {
	case len(p) == 0:
		return websocket.CloseNoStatusReceived, nil
	case len(p) == 1:
		return 0, &frameError{protocol.CloseProtocolError, "Invalid close frame"}
	}
	code = int(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return 0, &frameError{protocol.CloseProtocolError, "Invalid close code"}
	}
	if !utf8.Valid(p[2:]) {
		return 0, &frameError{protocol.CloseInvalidPayload, "Invalid UTF-8 in close reason"}
	}
	return code, nil
}

// validCloseCode reports whether a peer may send code (RFC 6455 §7.4 and
// the IANA registry; 1004–1006 and 1015 are never sent).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	default:
		return code >= 3000 && code <= 4999
	}
}
