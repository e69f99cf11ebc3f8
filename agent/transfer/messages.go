package transfer

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/agentchat/mesh/protocol"
)

// The `_ft` kinds of PROTOCOL.md §21.1.
const (
	ftOffer    = "offer"
	ftAccept   = "accept"
	ftReject   = "reject"
	ftChunk    = "chunk"
	ftComplete = "complete"
	ftAck      = "ack"
)

// FileInfo is one entry of an offer's file list.
type FileInfo struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// The wire forms of the control messages, one struct per kind so that the
// keys come out in the order of §21.1 (encoding/json keeps field order).
type (
	offerWire struct {
		FT         string     `json:"_ft"`
		TID        string     `json:"tid"`
		Files      []FileInfo `json:"files"`
		TotalSize  int64      `json:"totalSize"`
		SHA256     string     `json:"sha256"`
		Chunks     int        `json:"chunks"`
		SenderNick string     `json:"senderNick"`
	}
	tidWire struct {
		FT  string `json:"_ft"`
		TID string `json:"tid"`
	}
	// rejectWire adds an optional reason, which other clients ignore.
	rejectWire struct {
		FT     string `json:"_ft"`
		TID    string `json:"tid"`
		Reason string `json:"reason,omitempty"`
	}
	chunkWire struct {
		FT    string `json:"_ft"`
		TID   string `json:"tid"`
		Idx   int    `json:"idx"`
		Total int    `json:"total"`
		Data  string `json:"data"`
	}
	completeWire struct {
		FT     string `json:"_ft"`
		TID    string `json:"tid"`
		SHA256 string `json:"sha256"`
	}
	ackWire struct {
		FT    string `json:"_ft"`
		TID   string `json:"tid"`
		OK    bool   `json:"ok"`
		Error string `json:"error,omitempty"`
	}
)

// ftMsg is any `_ft` message as decoded; fields a kind does not have stay
// zero. Data stays raw: see decodeChunkData.
type ftMsg struct {
	FT         string          `json:"_ft"`
	TID        string          `json:"tid"`
	Files      []FileInfo      `json:"files"`
	TotalSize  int64           `json:"totalSize"`
	SHA256     string          `json:"sha256"`
	Chunks     int             `json:"chunks"`
	SenderNick string          `json:"senderNick"`
	Idx        *int            `json:"idx"`
	Total      int             `json:"total"`
	Data       json.RawMessage `json:"data"`
	OK         *bool           `json:"ok"`
	Error      string          `json:"error"`
	Reason     string          `json:"reason"`
}

// encodeFT renders a control message as the JSON text placed in content.
func encodeFT(v any) string {
	b, err := protocol.Encode(v)
	if err != nil {
		panic("transfer: encode control message: " + err.Error()) // only plain structs are encoded
	}
	return string(b)
}

// parseFT decodes message content as an `_ft` message; ok is false for
// anything else (ordinary chat, malformed JSON, wrong field types).
func parseFT(content string) (m ftMsg, ok bool) {
	if !strings.Contains(content, `"_ft"`) {
		return m, false // cheap filter for ordinary messages
	}
	if json.Unmarshal([]byte(content), &m) != nil || m.FT == "" || m.TID == "" {
		return m, false
	}
	return m, true
}

// validTID reports whether a transfer ID is acceptable: 1–64 characters
// of [A-Za-z0-9_-] (the reference clients use 16 hex characters).
func validTID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validSHA256 reports whether s is 64 hex characters.
func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

var errBadString = errors.New("malformed JSON string")

// decodeChunkData decodes a chunk's "data" JSON string. Unlike
// encoding/json it keeps an unpaired UTF-16 surrogate escape (\ud83d) as
// its 3-byte WTF-8 form instead of turning it into U+FFFD: a JavaScript
// sender cuts the archive every 1,048,576 UTF-16 units, which can split a
// surrogate pair across two chunks, and joinSurrogates pairs the halves
// again once the chunks are joined.
func decodeChunkData(raw json.RawMessage) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || !utf8.Valid(raw) {
		return "", errBadString
	}
	body := string(raw[1 : len(raw)-1])
	if !strings.Contains(body, `\`) {
		return body, nil
	}
	units, err := protocol.DecodeJSStringUnits(body)
	if err != nil {
		return "", errBadString
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(units); i++ {
		u := units[i]
		if utf16.IsSurrogate(rune(u)) && u < 0xDC00 && i+1 < len(units) {
			if r := utf16.DecodeRune(rune(u), rune(units[i+1])); r != utf8.RuneError {
				out = utf8.AppendRune(out, r)
				i++
				continue
			}
		}
		out = appendWTF8(out, u)
	}
	return string(out), nil
}

// appendWTF8 appends a UTF-16 code unit as UTF-8, or as the generalized
// 3-byte form when it is a lone surrogate.
func appendWTF8(out []byte, v uint16) []byte {
	if !utf16.IsSurrogate(rune(v)) {
		return utf8.AppendRune(out, rune(v))
	}
	return append(out, 0xE0|byte(v>>12), 0x80|byte(v>>6)&0x3F, 0x80|byte(v)&0x3F)
}

// isSurrogateAt reports whether s[i:] starts with a WTF-8 surrogate
// (ED A0..BF xx), and which one.
func isSurrogateAt(s string, i int) (rune, bool) {
	if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2]&0xC0 == 0x80 {
		return 0xD000 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), true
	}
	return 0, false
}

// joinSurrogates turns the WTF-8 surrogates of s into UTF-8: a high
// surrogate followed by a low one becomes their code point, any other
// becomes U+FFFD (what a JavaScript sender's UTF-8 encoding, and so its
// hash, makes of a lone surrogate). s without surrogates is returned as is.
func joinSurrogates(s string) string {
	first := -1
	for i := strings.IndexByte(s, 0xED); i >= 0 && i+2 < len(s); {
		if _, ok := isSurrogateAt(s, i); ok {
			first = i
			break
		}
		j := strings.IndexByte(s[i+1:], 0xED)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if first < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:first])
	for i := first; i < len(s); {
		hi, ok := isSurrogateAt(s, i)
		if !ok {
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		if lo, ok2 := isSurrogateAt(s, i+3); ok2 && hi < 0xDC00 && lo >= 0xDC00 {
			b.WriteRune(utf16.DecodeRune(hi, lo))
			i += 6
			continue
		}
		b.WriteRune(utf8.RuneError)
		i += 3
	}
	return b.String()
}
