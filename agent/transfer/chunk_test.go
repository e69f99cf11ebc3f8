package transfer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/protocol"
)

// relayedFrame is the FILE_CHUNK frame a node relays for chunk idx of a
// transfer between two 16-character agent IDs, as node.handleFileChunk
// builds it.
func relayedFrame(t *testing.T, idx, total int, data string) []byte {
	t.Helper()
	content := encodeFT(chunkWire{FT: ftChunk, TID: "0123456789abcdef", Idx: idx, Total: total, Data: data})
	b, err := protocol.Encode(protocol.FileChunkFrame{Type: protocol.TypeFileChunk, TS: 1_760_000_000_000,
		From: "@0123456789abcdef", To: "@fedcba9876543210", Content: content})
	require.NoError(t, err)
	return b
}

func TestSplitArchiveFitsFrames(t *testing.T) {
	const maxFrame = protocol.DefaultMaxFrame
	for name, archive := range map[string]string{
		"base64-like":     strings.Repeat("QUJDRA==", 400_000),  // 3.2 MB of 1-byte runes
		"quotes":          strings.Repeat(`"`, 1_500_000),       // 4 bytes each when relayed
		"newlines":        strings.Repeat("\n", 1_200_000),      // 3 bytes each
		"control":         strings.Repeat("\x01", 700_000),      // 7 bytes each
		"backslash mix":   strings.Repeat(`a\"b`+"\t", 300_000), //
		"two-byte":        strings.Repeat("é", 1_200_000),       // 2 bytes, 1 unit
		"astral":          strings.Repeat("😀", 700_000),         // 4 bytes, 2 units
		"line separators": strings.Repeat("\u2028x", 300_000),   // escaped by encoding/json
		"mixed":           strings.Repeat("=== a ===\n\"é😀\"\\\x00\u2029", 60_000),
		"tiny":            "x",
	} {
		t.Run(name, func(t *testing.T) {
			chunks, err := splitArchive(archive, MaxChunkUnits, maxFrame)
			require.NoError(t, err)
			require.Equal(t, archive, strings.Join(chunks, ""))
			for i, c := range chunks {
				require.NotEmpty(t, c)
				require.LessOrEqual(t, protocol.UTF16Len(c), MaxChunkUnits, "chunk %d", i)
				frame := relayedFrame(t, i, len(chunks), c)
				require.LessOrEqual(t, len(frame), maxFrame, "chunk %d relayed frame", i)
				var f protocol.FileChunkFrame
				require.NoError(t, json.Unmarshal(frame, &f))
				require.LessOrEqual(t, protocol.UTF16Len(f.Content), maxFrame, "content within the node's MaxChunk")
				if i < len(chunks)-1 {
					// Chunks are as large as the limits allow: one more rune would not fit.
					// (JSON escaping is per rune, so costs add up.)
					next := string([]rune(chunks[i+1])[0])
					require.True(t, protocol.UTF16Len(c)+protocol.UTF16Len(next) > MaxChunkUnits ||
						doubleEscapedLen(c)+doubleEscapedLen(next) > chunkByteBudget(maxFrame),
						"chunk %d could have been longer", i)
				}
			}
		})
	}
	// Plain ASCII cuts at exactly 1,048,576 units, like the reference sender.
	chunks, err := splitArchive(strings.Repeat("a", 3*MaxChunkUnits+5), MaxChunkUnits, maxFrame)
	require.NoError(t, err)
	require.Len(t, chunks, 4)
	require.Len(t, chunks[0], MaxChunkUnits)
	require.Len(t, chunks[3], 5)

	_, err = splitArchive("abc", MaxChunkUnits, 300)
	require.Error(t, err, "a frame limit below the envelope")
	_, err = splitArchive("caf\xe9", MaxChunkUnits, maxFrame)
	require.Error(t, err, "not UTF-8")
}

func TestSplitArchiveSmallFrames(t *testing.T) {
	archive := Pack(vectorFiles) + strings.Repeat("😀é\"\n", 500)
	chunks, err := splitArchive(archive, 100, 2000)
	require.NoError(t, err)
	require.Greater(t, len(chunks), 10)
	require.Equal(t, archive, strings.Join(chunks, ""))
	for i, c := range chunks {
		require.LessOrEqual(t, protocol.UTF16Len(c), 100)
		require.LessOrEqual(t, len(relayedFrame(t, i, len(chunks), c)), 2000)
	}
}

func TestDecodeChunkData(t *testing.T) {
	// A JavaScript sender splits the string by UTF-16 units, so an emoji
	// can straddle two chunks; JSON.stringify escapes each lone half.
	a, err := decodeChunkData(json.RawMessage(`"x\ud83d"`))
	require.NoError(t, err)
	b, err := decodeChunkData(json.RawMessage(`"\ude00y"`))
	require.NoError(t, err)
	require.Equal(t, "x😀y", joinSurrogates(a+b))

	lone, err := decodeChunkData(json.RawMessage(`"a\udc00b\ud800"`))
	require.NoError(t, err)
	require.Equal(t, "a\uFFFDb\uFFFD", joinSurrogates(lone), "unpaired halves become U+FFFD, as UTF-8 encoding in JavaScript does")

	for raw, want := range map[string]string{
		`"plain"`:                          "plain",
		`"q\"b\\s\/n\nr\rt\tb\bf\f"`:       "q\"b\\s/n\nr\rt\tb\bf\f",
		`"\u0000\u00e9\u2028\uD83D\uDE00"`: "\x00é\u2028😀",
		`"é😀"`:                             "é😀",
	} {
		got, err := decodeChunkData(json.RawMessage(raw))
		require.NoError(t, err, raw)
		require.Equal(t, want, got, raw)
		var std string
		require.NoError(t, json.Unmarshal([]byte(raw), &std))
		require.Equal(t, std, got, "agrees with encoding/json without lone surrogates")
	}
	for _, raw := range []string{`x`, `"\x"`, `"\u12"`, `"\u12g4"`, `"a\"`, "\"\xff\"", `1`} {
		_, err := decodeChunkData(json.RawMessage(raw))
		require.Error(t, err, raw)
	}
	require.Equal(t, "no surrogates \xed\x9f\xbf", joinSurrogates("no surrogates \xed\x9f\xbf"), "U+D7FF is not a surrogate")
}

func TestControlMessageKeyOrder(t *testing.T) {
	require.Equal(t, `{"_ft":"offer","tid":"0011223344556677","files":[{"name":"a <b>.txt","size":3}],"totalSize":3,"sha256":"ab","chunks":1,"senderNick":"alice"}`,
		encodeFT(offerWire{FT: ftOffer, TID: "0011223344556677", Files: []FileInfo{{Name: "a <b>.txt", Size: 3}}, TotalSize: 3, SHA256: "ab", Chunks: 1, SenderNick: "alice"}))
	require.Equal(t, `{"_ft":"chunk","tid":"t","idx":0,"total":2,"data":"x\ny"}`,
		encodeFT(chunkWire{FT: ftChunk, TID: "t", Idx: 0, Total: 2, Data: "x\ny"}))
	require.Equal(t, `{"_ft":"complete","tid":"t","sha256":"ab"}`, encodeFT(completeWire{FT: ftComplete, TID: "t", SHA256: "ab"}))
	require.Equal(t, `{"_ft":"ack","tid":"t","ok":true}`, encodeFT(ackWire{FT: ftAck, TID: "t", OK: true}))
	require.Equal(t, `{"_ft":"ack","tid":"t","ok":false,"error":"hash mismatch"}`, encodeFT(ackWire{FT: ftAck, TID: "t", Error: "hash mismatch"}))
	require.Equal(t, `{"_ft":"accept","tid":"t"}`, encodeFT(tidWire{FT: ftAccept, TID: "t"}))
	require.Equal(t, `{"_ft":"reject","tid":"t"}`, encodeFT(rejectWire{FT: ftReject, TID: "t"}))

	m, ok := parseFT(`{"_ft":"chunk","tid":"t","idx":3,"total":4,"data":"abc"}`)
	require.True(t, ok)
	require.Equal(t, 3, *m.Idx)
	for _, s := range []string{`hello`, `{"tid":"t"}`, `{"_ft":"offer"}`, `{"_ft":"offer","tid":"t","chunks":"x"}`, `{"_ft":`} {
		_, ok := parseFT(s)
		require.False(t, ok, s)
	}
	require.True(t, validTID(newTID()))
	require.Len(t, newTID(), 16)
}
