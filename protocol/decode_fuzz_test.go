package protocol_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/agentchat/mesh/protocol"
)

// FuzzDecode checks Decode's contract on any input: it never panics, and it
// returns either a Message and no error, or no Message and an INVALID_MSG
// error with a text. A Message's Type is the frame's "type", and decoding is
// deterministic.
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.frame), uint16(0))
	}
	for _, seed := range []string{
		``, ` `, `{`, `}`, `[]`, `[{}]`, `null`, `true`, `5`, `-0`, `1e400`, `"x"`, `{}`,
		`{"type":`, `{"type":"PING"} x`, `{"type":"PING"}{"type":"PING"}`,
		`{"type":null}`, `{"type":0}`, `{"type":1.5}`, `{"type":{}}`, `{"type":[]}`, `{"type":true}`,
		`{"type":"FOO"}`, `{"type":"MSG"}`, `{"type":"MSG","to":"#","content":5}`,
		`{"type":"MSG","to":"@","content":"\ud800"}`, "{\"type\":\"MSG\",\"to\":\"#g\",\"content\":\"\xff\xfe\"}",
		`{"type":"IDENTIFY","name":"\u0000"}`, `{"type":"JOIN","channel":"#\n"}`,
		`{"type":"PROPOSAL","to":"@b","task":"t","sig":"s","elo_stake":1e308,"expires":-1e308,"amount":-0}`,
		`{"type":"ACCEPT","proposal_id":"p","sig":"s","elo_stake":9007199254740991}`,
		`{"type":"REGISTER_SKILLS","skills":[null,1,"x",{"capability":5}],"sig":"s"}`,
		`{"type":"SEARCH_SKILLS","query":{"limit":1e300,"max_rate":"x"}}`,
		`{"type":"SEARCH_SKILLS","query":{"limit":-5},"query_id":{"a":[1]}}`,
		`{"type":"SET_PRESENCE","status":"away","status_text":"` + "😀😀" + `"}`,
		`{"type":"SET_NICK","nick":"\t neo \u00a0"}`,
		`{"type":"ADMIN_MOTD","admin_key":"k","motd":"","kick":"0"}`,
		`{"type":"ADMIN_VERIFY","admin_key":"k","agent_id":"a","verified":null}`,
		`{"type":"VERIFY_IDENTITY","challenge_id":"c","signature":"s","timestamp":"1"}`,
		`{"type":"RESPONDING_TO","msg_id":"m","channel":"#g","started_at":-1}`,
		`{"type":"EVIDENCE","dispute_id":"d","items":{},"statement":"","sig":"s"}`,
		`{"type":"ARBITER_VOTE","dispute_id":"d","verdict":"mutual","reasoning":5,"sig":"s"}`,
		"\xef\xbb\xbf{\"type\":\"PING\"}",
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	} {
		f.Add([]byte(seed), uint16(0))
		f.Add([]byte(seed), uint16(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, maxContent uint16) {
		lim := protocol.Limits{MaxContent: int(maxContent), MaxChunk: int(maxContent)}
		m, err := protocol.Decode(data, lim)
		switch {
		case m != nil && err != nil:
			t.Fatalf("Decode(%q) = %#v and error %v", data, m, err)
		case m == nil && err == nil:
			t.Fatalf("Decode(%q) = nil, nil", data)
		case err != nil:
			if err.Code != protocol.CodeInvalidMsg {
				t.Fatalf("Decode(%q) error code %q, want INVALID_MSG", data, err.Code)
			}
			if err.Message == "" {
				t.Fatalf("Decode(%q) error without a message", data)
			}
			return
		}
		// Only JSON objects with a string type decode, and to that type.
		var obj map[string]json.RawMessage
		if jerr := json.Unmarshal(data, &obj); jerr != nil || obj == nil {
			t.Fatalf("Decode(%q) accepted input that is not a JSON object: %v", data, jerr)
		}
		var typ string
		if jerr := json.Unmarshal(obj["type"], &typ); jerr != nil || typ != m.Type() {
			t.Fatalf("Decode(%q).Type() = %q, frame type %s", data, m.Type(), obj["type"])
		}
		again, err2 := protocol.Decode(data, lim)
		if err2 != nil || !reflect.DeepEqual(m, again) {
			t.Fatalf("Decode(%q) is not deterministic: %#v then %#v, %v", data, m, again, err2)
		}
	})
}
