package protocol

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsrMaxDepth bounds the nesting of arrays and objects JSR accepts, so a
// hostile frame cannot make the re-serialisation recurse without limit.
const jsrMaxDepth = 10000

// jsrIndexAt is the member count from which an object gets a key index;
// smaller objects are searched linearly, which is cheaper than a map.
const jsrIndexAt = 16

// JSR re-serialises the JSON value raw exactly as JavaScript's
// JSON.stringify(JSON.parse(raw)) does (PROTOCOL.md §7.4): compact, numbers
// as JS-string (non-finite ones, such as 1e400, as null), strings re-escaped
// per §3.5, and object members in JS own-property order: keys that are array
// indices ("0" … "4294967294") first in ascending numeric order, then the
// other keys in the order they first appeared, a duplicate key keeping its
// first position but its last value. The REGISTER_SKILLS and EVIDENCE
// signatures cover the SHA-256 of this text, so it must match byte for byte.
//
// Invalid JSON and nesting deeper than 10000 levels are errors.
func JSR(raw []byte) ([]byte, error) {
	v, err := parseJSValue(raw)
	if err != nil {
		return nil, err
	}
	return v.appendJSON(make([]byte, 0, len(raw)), nil), nil
}

// jsValue is a JSON value as JSON.parse holds it: a scalar already encoded
// the way JSON.stringify prints it, an array, or an object whose members are
// unique by key.
type jsValue struct {
	kind    byte   // 'n' null, 's' other scalar, '[' array, '{' object
	text    string // scalar: JSON.stringify output
	elems   []*jsValue
	members []jsMember
	index   map[string]int // key → members index, once jsrIndexAt members exist
}

// jsMember is an object member; key is the JSON.stringify form of the key,
// quotes included, which is unique per JS string.
type jsMember struct {
	key string
	val *jsValue
}

// parseJSValue parses raw with the order-preserving token stream of
// encoding/json. Strings are re-decoded from their raw literal because the
// decoder folds lone UTF-16 surrogate escapes into U+FFFD, while JS keeps
// them (and JSON.stringify writes them back as \udxxx).
func parseJSValue(raw []byte) (*jsValue, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type open struct {
		v      *jsValue
		key    string
		hasKey bool
	}
	var (
		stack []open
		root  *jsValue
	)
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			if root == nil {
				return nil, errors.New("jsr: unexpected end of JSON input")
			}
			return root, nil
		}
		if err != nil {
			return nil, fmt.Errorf("jsr: %w", err)
		}
		if root != nil {
			return nil, errors.New("jsr: data after the JSON value")
		}
		var v *jsValue
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '[', '{':
				if len(stack) == jsrMaxDepth {
					return nil, fmt.Errorf("jsr: nesting deeper than %d", jsrMaxDepth)
				}
				stack = append(stack, open{v: &jsValue{kind: byte(t)}})
				continue
			}
			if len(stack) == 0 { // the decoder rejects this; never index past it
				return nil, fmt.Errorf("jsr: unbalanced %v", t)
			}
			v = stack[len(stack)-1].v
			stack = stack[:len(stack)-1]
		case string:
			lit, err := jsrStringLiteral(raw[start:dec.InputOffset()])
			if err != nil {
				return nil, err
			}
			if n := len(stack); n > 0 && stack[n-1].v.kind == '{' && !stack[n-1].hasKey {
				stack[n-1].key, stack[n-1].hasKey = lit, true
				continue
			}
			v = &jsValue{kind: 's', text: lit}
		case json.Number:
			f, err := strconv.ParseFloat(string(t), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("jsr: number %q: %w", t, err)
			}
			// Out of range parses to ±Inf or ±0, as in JS.
			v = &jsValue{kind: 's', text: string(appendJSONNumber(nil, f))}
		case bool:
			v = &jsValue{kind: 's', text: strconv.FormatBool(t)}
		case nil:
			v = &jsValue{kind: 'n', text: "null"}
		default:
			return nil, fmt.Errorf("jsr: unexpected token %v", tok)
		}
		if len(stack) == 0 {
			root = v
			continue
		}
		top := &stack[len(stack)-1]
		if top.v.kind == '[' {
			top.v.elems = append(top.v.elems, v)
			continue
		}
		top.v.set(top.key, v)
		top.hasKey = false
	}
}

// jsrStringLiteral returns the JSON.stringify form of the string token whose
// source span is span: whitespace and a ',' or ':' the decoder consumed with
// the token, then the literal itself.
func jsrStringLiteral(span []byte) (string, error) {
	i := bytes.IndexByte(span, '"')
	if i < 0 || len(span)-i < 2 || span[len(span)-1] != '"' {
		return "", errors.New("jsr: cannot locate string literal")
	}
	units, err := decodeJSONString(string(span[i+1 : len(span)-1]))
	if err != nil {
		return "", err
	}
	return string(appendJSUnits(nil, units)), nil
}

// set gives the object v the member key: val, keeping the position of an
// existing member with that key as JSON.parse does.
func (v *jsValue) set(key string, val *jsValue) {
	if i, ok := v.lookup(key); ok {
		v.members[i].val = val
		return
	}
	v.members = append(v.members, jsMember{key: key, val: val})
	switch n := len(v.members); {
	case n == jsrIndexAt:
		v.index = make(map[string]int, 2*n)
		for i, m := range v.members {
			v.index[m.key] = i
		}
	case n > jsrIndexAt:
		v.index[key] = n - 1
	}
}

// lookup returns the members index of key in the object v.
func (v *jsValue) lookup(key string) (int, bool) {
	if v.index != nil {
		i, ok := v.index[key]
		return i, ok
	}
	for i, m := range v.members {
		if m.key == key {
			return i, true
		}
	}
	return 0, false
}

// appendJSON appends v as JSON.stringify(v, props) prints it. With props nil
// object members come in JS own-property order; otherwise props is the
// replacer's property list (keys in JSON.stringify form) and every object,
// at any depth, shows just those keys in that order, as JS does.
func (v *jsValue) appendJSON(dst []byte, props []string) []byte {
	switch v.kind {
	case '[':
		dst = append(dst, '[')
		for i, e := range v.elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.appendJSON(dst, props)
		}
		return append(dst, ']')
	case '{':
		dst = append(dst, '{')
		first := true
		emit := func(m jsMember) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, m.key...)
			dst = append(dst, ':')
			dst = m.val.appendJSON(dst, props)
		}
		if props != nil {
			for _, k := range props {
				if i, ok := v.lookup(k); ok {
					emit(v.members[i])
				} else if k == `"__proto__"` {
					emit(jsMember{key: k, val: &jsInheritedProto})
				}
			}
		} else {
			for _, m := range v.ownKeyOrder() {
				emit(m)
			}
		}
		return append(dst, '}')
	}
	return append(dst, v.text...)
}

// jsInheritedProto is what JSON.stringify with a property list containing
// "__proto__" prints for an object lacking that own key: it reads listed keys
// with [[Get]], which finds Object.prototype, and under the same list that
// prints as {"__proto__":null} (its other properties are functions, which
// are skipped).
var jsInheritedProto = jsValue{kind: 's', text: `{"__proto__":null}`}

// ownKeyOrder returns the members of the object v in the order of JS
// OrdinaryOwnPropertyKeys: array-index keys ascending, then the rest in
// insertion order.
func (v *jsValue) ownKeyOrder() []jsMember {
	var idx, rest []jsMember
	for _, m := range v.members {
		if _, ok := jsArrayIndex(m.key); ok {
			idx = append(idx, m)
		} else {
			rest = append(rest, m)
		}
	}
	if idx == nil {
		return v.members
	}
	slices.SortFunc(idx, func(a, b jsMember) int {
		x, _ := jsArrayIndex(a.key)
		y, _ := jsArrayIndex(b.key)
		return cmp.Compare(x, y)
	})
	return append(idx, rest...)
}

// jsArrayIndex reports whether the quoted key names an array index, a
// canonical decimal integer below 2^32-1, and returns its value.
func jsArrayIndex(key string) (uint32, bool) {
	d := key[1 : len(key)-1]
	if d == "" || len(d) > 10 || (d[0] == '0' && len(d) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(d[i]-'0')
	}
	if n >= math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// DecodeJSStringUnits decodes the body of a JSON string literal (without
// its quotes) into the UTF-16 code units JSON.parse would give, keeping
// unpaired surrogate escapes that encoding/json would turn into U+FFFD.
func DecodeJSStringUnits(body string) ([]uint16, error) { return decodeJSONString(body) }

// decodeJSONString decodes the body of a JSON string literal (without its
// quotes) into the UTF-16 code units JSON.parse would give. Each ill-formed
// UTF-8 sequence becomes U+FFFD as in AppendJSString; escapes may produce
// unpaired surrogates, which are kept.
func decodeJSONString(s string) ([]uint16, error) {
	units := make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				size = invalidUTF8Len(s[i:])
			}
			units = utf16.AppendRune(units, r)
			i += size
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("jsr: truncated escape")
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			units = append(units, uint16(e))
		case 'b':
			units = append(units, '\b')
		case 'f':
			units = append(units, '\f')
		case 'n':
			units = append(units, '\n')
		case 'r':
			units = append(units, '\r')
		case 't':
			units = append(units, '\t')
		case 'u':
			if i+6 > len(s) {
				return nil, errors.New("jsr: truncated \\u escape")
			}
			u, err := strconv.ParseUint(s[i+2:i+6], 16, 16)
			if err != nil {
				return nil, fmt.Errorf("jsr: bad \\u escape %q", s[i:i+6])
			}
			units = append(units, uint16(u))
			i += 6
			continue
		default:
			return nil, fmt.Errorf("jsr: bad escape %q", s[i:i+2])
		}
		i += 2
	}
	return units, nil
}

// appendJSUnits appends the JS string units quoted as JSON.stringify does:
// like AppendJSString, plus an unpaired surrogate written as a lowercase
// \udxxx escape (ES2019 well-formed JSON.stringify).
func appendJSUnits(dst []byte, units []uint16) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(units); i++ {
		u := units[i]
		switch {
		case u < 0x20 || u == '"' || u == '\\':
			dst = appendJSEscape(dst, byte(u))
		case utf16.IsSurrogate(rune(u)):
			if u < 0xdc00 && i+1 < len(units) {
				if r := utf16.DecodeRune(rune(u), rune(units[i+1])); r != utf8.RuneError {
					dst = utf8.AppendRune(dst, r)
					i++
					continue
				}
			}
			dst = append(dst, '\\', 'u', hex[u>>12], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
		default:
			dst = utf8.AppendRune(dst, rune(u))
		}
	}
	return append(dst, '"')
}

// appendJSONNumber appends f as JSON.stringify prints a number: JS-string
// for finite values, null for NaN and ±Infinity.
func appendJSONNumber(dst []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, "null"...)
	}
	return append(dst, FormatJSNumber(f)...)
}
