package protocol

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FormatJSNumber renders v the way JavaScript's String(v) does (PROTOCOL.md
// §7.4): integers below 1e21 as plain digits, other values as the shortest
// round-trip decimal, exponents as "1e+21" / "1e-7", and -0 as "0".
// Signing strings embed numbers in this form, so it must match byte for byte.
func FormatJSNumber(v float64) string {
	switch {
	case v == 0:
		return "0" // covers -0
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	abs := math.Abs(v)
	if abs < 1e21 && abs >= 1e-6 {
		// JS uses positional notation in [1e-6, 1e21).
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'e', -1, 64) // e.g. "1e+21", "1.5e-07"
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	digits := strings.TrimLeft(exp[1:], "0")
	if digits == "" {
		digits = "0"
	}
	return mant + "e" + string(sign) + digits
}

// AppendJSString appends s as JavaScript's JSON.stringify would quote it:
// only '"', '\\' and control characters below 0x20 are escaped (with the
// short forms \b \f \n \r \t, others as lowercase \u00xx); '<', '>', '&',
// U+2028/U+2029 and non-ASCII are written as is. Each invalid UTF-8 sequence
// becomes one U+FFFD, as in the JS string a UTF-8 decoder (TextDecoder,
// Buffer.toString) makes of those bytes.
func AppendJSString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\ufffd"...)
				i += invalidUTF8Len(s[i:])
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendJSEscape(dst, c)
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSEscape appends the JSON.stringify escape of c, which must be '"',
// '\\' or a control character below 0x20.
func appendJSEscape(dst []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	switch c {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}

// invalidUTF8Len returns how many bytes at the start of s, which begins with
// an ill-formed UTF-8 sequence, a WHATWG UTF-8 decoder replaces by a single
// U+FFFD: the longest prefix of a well-formed sequence (its "maximal
// subpart", Unicode §3.9), or else one byte. Node decodes text that way, so
// "\xe2\x82" is one U+FFFD in JS, not the two that utf8.DecodeRune reports.
func invalidUTF8Len(s string) int {
	var need int
	lo, hi := byte(0x80), byte(0xbf) // allowed range of the second byte
	switch b := s[0]; {
	case b >= 0xc2 && b <= 0xdf:
		need = 2
	case b == 0xe0:
		need, lo = 3, 0xa0
	case b == 0xed:
		need, hi = 3, 0x9f // no UTF-16 surrogates
	case b >= 0xe1 && b <= 0xef:
		need = 3
	case b == 0xf0:
		need, lo = 4, 0x90
	case b == 0xf4:
		need, hi = 4, 0x8f // nothing above U+10FFFF
	case b >= 0xf1 && b <= 0xf3:
		need = 4
	default:
		return 1
	}
	if len(s) < 2 || s[1] < lo || s[1] > hi {
		return 1
	}
	n := 2
	for n < need && n < len(s) && s[n] >= 0x80 && s[n] <= 0xbf {
		n++
	}
	return n
}
