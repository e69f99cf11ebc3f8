package bridge

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeChan feeds channel topic records to the decoder: it never
// panics, and a record it accepts decodes again, re-encoded, to the same
// kind, author and frame.
func FuzzDecodeChan(f *testing.F) {
	author := `"a":{"id":"zz000000","name":"ghost"}`
	for _, seed := range []string{
		`{"e":1,"s":1,` + author + `,"f":{"type":"MSG","ts":1,"from":"@zz000000","to":"#general","content":"hi","msg_id":"1-a"}}`,
		`{"k":"typing","e":1,"s":0,` + author + `,"f":{"type":"TYPING","ts":1,"from":"@zz000000","from_name":"ghost","channel":"#general"}}`,
		`{"k":"floor","e":1,"s":0,` + author + `,"f":{"type":"FLOOR_CLAIMED","ts":1,"msg_id":"1-a","channel":"#general","holder":"@zz000000","holder_name":"ghost","started_at":5}}`,
		`{"k":"floor","e":1,` + author + `,"f":{"type":"FLOOR_CLAIMED","msg_id":"","channel":"#general","holder":"@zz000000","started_at":5}}`,
		`{"k":"bogus","e":1,` + author + `,"f":{}}`,
		`{"k":"typing","f":"x"}`,
		`[]`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		r, err := decodeChan("#general", []byte(data))
		if err != nil {
			return
		}
		again, err := json.Marshal(r.chanEnvelope)
		require.NoError(t, err)
		r2, err := decodeChan("#general", again)
		require.NoError(t, err, "re-encoded %s", again)
		require.Equal(t, r.Kind, r2.Kind)
		require.Equal(t, r.Author.ID, r2.Author.ID)
		require.Equal(t, r.msg, r2.msg)
		require.Equal(t, r.typing, r2.typing)
		require.Equal(t, r.floor, r2.floor)
	})
}

// FuzzDecodeFloorRequest feeds floor requests to their decoder: it never
// panics, and what it accepts is a floor claim for the channel the
// request names.
func FuzzDecodeFloorRequest(f *testing.F) {
	claim := `{"k":"floor","e":1,"s":0,"a":{"id":"zz000000","name":"ghost"},"f":{"type":"FLOOR_CLAIMED","ts":1,"msg_id":"1-a","channel":"#general","holder":"@zz000000","holder_name":"ghost","started_at":5}}`
	for _, seed := range []string{
		`{"channel":"#general","record":` + claim + `}`,
		`{"channel":"#other","record":` + claim + `}`,
		`{"channel":"#general","record":{"k":"typing","e":1,"a":{"id":"zz000000"},"f":{"type":"TYPING","from":"@zz000000","channel":"#general"}}}`,
		`{"channel":"#general"}`, `{"record":"x"}`, `[]`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		channel, r, err := decodeFloorRequest([]byte(data))
		if err != nil {
			return
		}
		require.Equal(t, kindFloor, r.Kind)
		require.Equal(t, channel, r.floor.Channel)
		require.Equal(t, "@"+r.Author.ID, r.floor.Holder)
	})
}
