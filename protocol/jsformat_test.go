package protocol

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Expected values are node's String(n) (v20).
func TestFormatJSNumber(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"ms timestamp", 1700000000000, "1700000000000"},
		{"fraction", 1.5, "1.5"},
		{"shortest round trip", 0.30000000000000004, "0.30000000000000004"},
		{"integer", 100, "100"},
		{"zero", 0, "0"},
		{"negative zero", math.Copysign(0, -1), "0"},
		{"negative fraction", -1.5, "-1.5"},
		{"1e21 switches to exponent", 1e21, "1e+21"},
		{"negative 1e21", -1e21, "-1e+21"},
		{"just below 1e21", 9.999999999999999e20, "999999999999999900000"},
		{"large integer padded with zeros", 123456789012345680000, "123456789012345680000"},
		{"1e-6 is positional", 1e-6, "0.000001"},
		{"small positional", 0.000001234, "0.000001234"},
		{"1e-7 switches to exponent", 1e-7, "1e-7"},
		{"small exponent with fraction", 1.5e-7, "1.5e-7"},
		{"two digit negative exponent", 123e-20, "1.23e-18"},
		{"2^53", 1 << 53, "9007199254740992"},
		{"2^53+2", 1<<53 + 2, "9007199254740994"},
		{"-2^53", -(1 << 53), "-9007199254740992"},
		{"1e100", 1e100, "1e+100"},
		{"max float", math.MaxFloat64, "1.7976931348623157e+308"},
		{"min subnormal", 5e-324, "5e-324"},
		{"NaN", math.NaN(), "NaN"},
		{"Infinity", math.Inf(1), "Infinity"},
		{"-Infinity", math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, FormatJSNumber(tt.in))
		})
	}
}

// Expected values are node's JSON.stringify(s); for invalid UTF-8, of
// Buffer.from(bytes).toString().
func TestAppendJSString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", `""`},
		{"plain", "hello", `"hello"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls lowercase", "\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"DEL unescaped", "\x7f", "\"\x7f\""},
		{"html unescaped", "<>&", `"<>&"`},
		{"slash unescaped", "a/b", `"a/b"`},
		{"line separators unescaped", "\u2028\u2029", "\"\u2028\u2029\""},
		{"non-ASCII unescaped", "é日本😀", `"é日本😀"`},
		{"U+FFFD kept", "\ufffd", "\"\ufffd\""},
		{"lone invalid byte", "a\xffb", "\"a\ufffdb\""},
		{"truncated sequence is one U+FFFD", "a\xe2\x82b", "\"a\ufffdb\""},
		{"truncated 4-byte sequence", "\xf0\x9f\x98", "\"\ufffd\""},
		{"encoded surrogate is three", "\xed\xa0\x80", "\"\ufffd\ufffd\ufffd\""},
		{"overlong", "\xc0\xaf", "\"\ufffd\ufffd\""},
		{"above U+10FFFF", "\xf4\x90\x80\x80", "\"\ufffd\ufffd\ufffd\ufffd\""},
		{"truncated at end", "x\xe2", "\"x\ufffd\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, string(AppendJSString(nil, tt.in)))
			require.Equal(t, "pre"+tt.want, string(AppendJSString([]byte("pre"), tt.in)), "appends to dst")
		})
	}
}
