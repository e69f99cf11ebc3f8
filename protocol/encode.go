package protocol

import (
	"bytes"
	"encoding/json"
	"sync"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Encode renders a server frame as the bytes of one websocket text message.
// HTML characters are not escaped, matching JSON.stringify. The result is
// a fresh slice the caller may share between any number of recipients.
func Encode(v any) ([]byte, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return bytes.Clone(b[:len(b)-1]), nil // drop the Encoder's newline
}

// marshalOrdered writes {"type":typ,"ts":ts,<fields in order>}.
func marshalOrdered(typ string, ts int64, kv []KV) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	b.Write(AppendJSString(nil, typ))
	b.WriteString(`,"ts":`)
	b.WriteString(FormatJSNumber(float64(ts)))
	for _, f := range kv {
		b.WriteByte(',')
		b.Write(AppendJSString(nil, f.Key))
		b.WriteByte(':')
		v, err := Encode(f.Value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
