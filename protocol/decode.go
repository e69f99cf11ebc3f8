package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// Validation texts that clients match (§5). They are the original server's
// strings, kept byte for byte.
const (
	TextInvalidJSON    = "Invalid JSON"
	TextMissingType    = "Missing message type"
	TextInvalidName    = "Invalid agent name"
	TextInvalidPubkey  = "Invalid public key format (must be Ed25519 PEM)"
	TextInvalidChannel = "Invalid channel name"
)

// fields is one decoded frame: the top-level keys and their raw values.
// Duplicate keys keep the last value, as JSON.parse does.
type fields map[string]json.RawMessage

// kind classifies a raw JSON value for validation.
type kind int

const (
	kindAbsent kind = iota // missing or null
	kindString
	kindNumber
	kindBool
	kindObject
	kindArray
)

func (f fields) kind(key string) kind {
	raw := f[key]
	if len(raw) == 0 {
		return kindAbsent
	}
	switch raw[0] {
	case '"':
		return kindString
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 't', 'f':
		return kindBool
	case 'n':
		return kindAbsent
	default:
		return kindNumber
	}
}

// str returns the string value of key, and whether it was a string.
func (f fields) str(key string) (string, bool) {
	if f.kind(key) != kindString {
		return "", false
	}
	var s string
	if json.Unmarshal(f[key], &s) != nil {
		return "", false
	}
	return s, true
}

// reqStr returns a required string: present, a string and non-empty (the
// original checks truthiness, so "" counts as missing).
func (f fields) reqStr(key, text string) (string, *Error) {
	s, ok := f.str(key)
	if !ok || s == "" {
		return "", Errorf(CodeInvalidMsg, "%s", text)
	}
	return s, nil
}

// optStr returns an optional string; absent or null gives "", any other
// non-string type is an error with text.
func (f fields) optStr(key, text string) (string, *Error) {
	switch f.kind(key) {
	case kindAbsent:
		return "", nil
	case kindString:
		s, _ := f.str(key)
		return s, nil
	}
	return "", Errorf(CodeInvalidMsg, "%s", text)
}

// num returns a number value of key and whether it was a finite number.
func (f fields) num(key string) (float64, bool) {
	if f.kind(key) != kindNumber {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(f[key]), 64)
	if err != nil { // out of range: not representable the way JS would hold it
		return 0, false
	}
	return v, true
}

// optNum returns an optional number; null or absent give nil.
func (f fields) optNum(key, text string) (*float64, *Error) {
	if f.kind(key) == kindAbsent {
		return nil, nil
	}
	v, ok := f.num(key)
	if !ok {
		return nil, Errorf(CodeInvalidMsg, "%s", text)
	}
	return &v, nil
}

// maxSafeInt is 2^53-1, JavaScript's Number.MAX_SAFE_INTEGER.
const maxSafeInt = 1<<53 - 1

// textStakeRange answers an integral elo_stake above maxSafeInt, the
// largest integer a JavaScript client holds exactly (the signing strings
// print stakes as JavaScript does). A number like 1e18 is an integer in
// JSON and in JavaScript, so "not an integer" would be wrong; the answer
// names the limit instead.
const textStakeRange = "elo_stake must be at most 9007199254740991"

// stake returns an optional non-negative integer elo_stake (§5), at most
// maxSafeInt. PROPOSAL and ACCEPT share it, so both answer alike.
func (f fields) stake() (*int64, *Error) {
	const text = "elo_stake must be a non-negative integer"
	if f.kind("elo_stake") == kindAbsent {
		return nil, nil
	}
	v, ok := f.num("elo_stake")
	switch {
	case !ok && f.kind("elo_stake") == kindNumber && f["elo_stake"][0] != '-':
		return nil, Errorf(CodeInvalidMsg, "%s", textStakeRange) // beyond float64: 1e400
	case !ok || v < 0 || v != math.Trunc(v):
		return nil, Errorf(CodeInvalidMsg, text)
	case v > maxSafeInt:
		return nil, Errorf(CodeInvalidMsg, "%s", textStakeRange)
	}
	n := int64(v)
	return &n, nil
}

// truthy reports JavaScript truthiness of key: absent, null, false, 0 and ""
// are false.
func (f fields) truthy(key string) bool {
	switch f.kind(key) {
	case kindAbsent:
		return false
	case kindBool:
		return f[key][0] == 't'
	case kindString:
		return len(f[key]) > 2
	case kindNumber:
		v, _ := f.num(key)
		return v != 0
	}
	return true
}

// Decode parses and validates one client frame (§5). Every failure is an
// INVALID_MSG *Error carrying the text a client sees; a nil *Error means the
// Message is well formed. Decode never panics, whatever data holds.
//
// Decode does not check a pubkey's key material (that needs identity, which
// imports this package); the node does, answering TextInvalidPubkey.
func Decode(data []byte, lim Limits) (Message, *Error) {
	var f fields
	if err := json.Unmarshal(data, &f); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// Valid JSON that is not an object (§28.20).
			return nil, Errorf(CodeInvalidMsg, TextMissingType)
		}
		return nil, Errorf(CodeInvalidMsg, TextInvalidJSON)
	}
	if !f.truthy("type") {
		return nil, Errorf(CodeInvalidMsg, TextMissingType)
	}
	typ, ok := f.str("type")
	if !ok {
		return nil, Errorf(CodeInvalidMsg, "Unknown message type: %s", bytes.TrimSpace(f["type"]))
	}
	dec, ok := decoders[typ]
	if !ok {
		return nil, Errorf(CodeInvalidMsg, "Unknown message type: %s", typ)
	}
	return dec(f, lim)
}

// UTF16Len is JavaScript's String.length of s: UTF-16 code units.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// overLimit reports whether s has more than max UTF-16 units, without
// counting when the byte length already settles it.
func overLimit(s string, max int) bool {
	if len(s) <= max {
		return false // UTF-16 units never exceed UTF-8 bytes
	}
	return UTF16Len(s) > max
}
