package transfer

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/agentchat/mesh/protocol"
)

// MaxChunkUnits is the most UTF-16 code units of the archive one chunk
// carries (PROTOCOL.md §21.2: the reference sender cuts every 1,048,576).
const MaxChunkUnits = 1 << 20

// frameSlack is kept free in every FILE_CHUNK frame beyond the computed
// envelope, for fields a node might add.
const frameSlack = 1024

// How a chunk fits in a frame.
//
// A chunk's archive text is JSON-escaped twice on its way: once into the
// `_ft` chunk message (the FILE_CHUNK content), and again when that content
// is placed in the frame, first the one the sender writes and then the
// larger one the node relays to the receiver:
//
//	{"type":"FILE_CHUNK","ts":…,"from":"@…","to":"@…","content":"{\"_ft\":\"chunk\",…,\"data\":\"…\"}"}
//
// ASCII letters and digits cost one byte each, a newline three (\n, then
// \\n), a quote four (\", then \\\"), a control character seven (\u0001,
// then \\u0001). A chunk of 1,048,576 units therefore fits a 2 MiB frame
// for base64 and ordinary text but not for text made of quotes or
// newlines. splitArchive walks the archive rune by rune and ends a chunk
// before it would pass either limit: MaxChunkUnits UTF-16 units of archive,
// or the byte budget left in a relayed frame of maxFrame bytes after the
// envelope (computed with the longest IDs, transfer ID and numbers
// possible) and frameSlack. Chunks never split a rune, so each is valid
// UTF-8 and a JSON string carries it unchanged.
//
// The budget also keeps the content under the node's FILE_CHUNK content
// cap (protocol.Limits.MaxChunk, UTF-16 units of the content), because
// content never has more UTF-16 units than the frame has bytes.

// escCost holds, per ASCII byte, what it costs in the relayed frame.
var escCost = func() (t [utf8.RuneSelf]int) {
	for c := range utf8.RuneSelf {
		t[c] = doubleEscapedLen(string(rune(c)))
	}
	return t
}()

// doubleEscapedLen is the length s adds to a JSON string nested in another.
func doubleEscapedLen(s string) int {
	inner, _ := protocol.Encode(s) // a string always encodes
	outer, _ := protocol.Encode(string(inner))
	return len(outer) - len(`"\"\""`)
}

// runeCost is what rune r, size bytes of UTF-8, costs in the relayed frame.
func runeCost(r rune, size int) int {
	switch {
	case r < utf8.RuneSelf:
		return escCost[r]
	case r == '\u2028' || r == '\u2029':
		return len(`\\u2028`) // encoding/json escapes them for JavaScript
	default:
		return size
	}
}

// chunkByteBudget is how many bytes of doubly escaped archive text fit in a
// relayed FILE_CHUNK frame of maxFrame bytes.
func chunkByteBudget(maxFrame int) int {
	long := strings.Repeat("f", 64)
	inner, _ := protocol.Encode(chunkWire{FT: ftChunk, TID: long, Idx: 1 << 31, Total: 1 << 31})
	outer, _ := protocol.Encode(protocol.FileChunkFrame{Type: protocol.TypeFileChunk, TS: 1 << 53,
		From: "@" + long, To: "@" + long, Content: string(inner)})
	return maxFrame - len(outer) - frameSlack
}

// splitArchive cuts archive into chunks of at most maxUnits UTF-16 units
// whose relayed frames stay within maxFrame bytes (see above). archive must
// be valid UTF-8.
func splitArchive(archive string, maxUnits, maxFrame int) ([]string, error) {
	budget := chunkByteBudget(maxFrame)
	if budget < 16 || maxUnits < 2 {
		return nil, fmt.Errorf("frame limit %d bytes leaves no room for chunk data", maxFrame)
	}
	if !utf8.ValidString(archive) {
		return nil, fmt.Errorf("archive is not valid UTF-8")
	}
	var chunks []string
	for rest := archive; rest != ""; {
		units, cost, i := 0, 0, 0
		for i < len(rest) {
			r, size := utf8.DecodeRuneInString(rest[i:])
			u := 1
			if r > 0xFFFF {
				u = 2
			}
			c := runeCost(r, size)
			if units+u > maxUnits || cost+c > budget {
				break
			}
			units, cost, i = units+u, cost+c, i+size
		}
		chunks = append(chunks, rest[:i])
		rest = rest[i:]
	}
	return chunks, nil
}
