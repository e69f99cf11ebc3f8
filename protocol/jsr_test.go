package protocol

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Expected values are node's JSON.stringify(JSON.parse(in)) (v20).
func TestJSR(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"key order kept", `{"b":1,"a":2}`, `{"b":1,"a":2}`},
		{"duplicate key: first position, last value", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{"duplicate key through an escape", `{"\u0061":1,"a":2}`, `{"a":2}`},
		{
			"array-index keys first, ascending",
			`{"b":1,"2":2,"a":3,"1":4,"01":5,"4294967294":6,"4294967295":7,"-1":8}`,
			`{"1":4,"2":2,"4294967294":6,"b":1,"a":3,"01":5,"4294967295":7,"-1":8}`,
		},
		{"proto key is plain", `{"__proto__":1,"a":2}`, `{"__proto__":1,"a":2}`},
		{"whitespace removed", " { \"a\" : [ 1 , { \"b\" : null } , true , false ] } \n", `{"a":[1,{"b":null},true,false]}`},
		{"nested", `[[[]],{"a":{"b":[{}]}}]`, `[[[]],{"a":{"b":[{}]}}]`},
		{"empty containers", `[{},[]]`, `[{},[]]`},
		{"scalar string", `"x"`, `"x"`},
		{"scalar true", `true`, `true`},
		{"scalar null", `null`, `null`},
		{
			"numbers normalised",
			`[1.0, 1E2, -0, 0.1, 1e21, 1.5e-7, 123456789012345678901234, 5e-324, 1.7976931348623157e308]`,
			`[1,100,0,0.1,1e+21,1.5e-7,1.2345678901234569e+23,5e-324,1.7976931348623157e+308]`,
		},
		{"out of range numbers", `[1e400, -1e400, 1e-400, -1e-400]`, `[null,null,0,0]`},
		{
			"escapes normalised",
			`"\u0041\/\b\f\n\r\t\u0001\u001f\u007f\u2028<>&é😀"`,
			"\"A/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\u2028<>&é😀\"",
		},
		{"escaped quote and backslash", `"\"\\"`, `"\"\\"`},
		{"surrogate pair escapes", `["\ud83d\ude00","\uD83D\uDE00"]`, `["😀","😀"]`},
		{"lone high surrogate kept", `"\ud800"`, `"\ud800"`},
		{"lone low surrogate kept", `"\udc00x"`, `"\udc00x"`},
		{"reversed pair kept", `"\ude00\ud83d"`, `"\ude00\ud83d"`},
		{"uppercase lone surrogate lowercased", `"\uDBFF"`, `"\udbff"`},
		{"lone surrogate keys stay distinct", `{"\ud800":1,"\udbff":2}`, `{"\ud800":1,"\udbff":2}`},
		{"escaped key", `{"a\"b":1}`, `{"a\"b":1}`},
		{"invalid UTF-8 replaced", "\"a\xe2\x82b\xff\"", "\"a\ufffdb\ufffd\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JSR([]byte(tt.in))
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestJSRManyKeys(t *testing.T) {
	// Past jsrIndexAt members objects switch to a key index; duplicates must
	// still land on their first position.
	var in, want strings.Builder
	in.WriteString("{")
	want.WriteString("{")
	for i := range 40 {
		if i > 0 {
			in.WriteString(",")
			want.WriteString(",")
		}
		k := `"k` + strconv.Itoa(i) + `":`
		in.WriteString(k + "0")
		if i%3 == 0 {
			want.WriteString(k + "1")
		} else {
			want.WriteString(k + "0")
		}
	}
	for i := 0; i < 40; i += 3 {
		in.WriteString(`,"k` + strconv.Itoa(i) + `":1`)
	}
	in.WriteString("}")
	want.WriteString("}")
	got, err := JSR([]byte(in.String()))
	require.NoError(t, err)
	require.Equal(t, want.String(), string(got))
}

func TestJSRInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ``},
		{"whitespace only", " \n"},
		{"truncated object", `{"a":1`},
		{"truncated array", `[1,`},
		{"truncated string", `"abc`},
		{"trailing comma in array", `[1,]`},
		{"trailing comma in object", `{"a":1,}`},
		{"missing colon", `{"a" 1}`},
		{"number key", `{1:2}`},
		{"single quotes", `'a'`},
		{"unbalanced close", `]`},
		{"mismatched close", `[}`},
		{"two values", `1 2`},
		{"trailing garbage", `{"a":1}x`},
		{"bad literal", `tru`},
		{"leading zero", `01`},
		{"bare dot", `1.`},
		{"plus sign", `+1`},
		{"NaN", `NaN`},
		{"bad escape", `"\x"`},
		{"short unicode escape", `"\u12"`},
		{"raw control char", "\"a\x01\""},
		{"byte order mark", "\ufeff{}"},
		{"comment", `{} // c`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := JSR([]byte(tt.in))
			require.Error(t, err)
		})
	}
}

func TestJSRDepth(t *testing.T) {
	nest := func(n int, open, close string) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"arrays at the limit", nest(jsrMaxDepth, "[", "]"), false},
		{"arrays past the limit", nest(jsrMaxDepth+1, "[", "]"), true},
		{"objects past the limit", nest(jsrMaxDepth+1, `{"a":`, "}"), true},
		{"unterminated deep arrays", []byte(strings.Repeat("[", 1<<20)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JSR(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, string(tt.in), string(got))
		})
	}
}
