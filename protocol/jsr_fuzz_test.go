package protocol

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzJSR checks that JSR never panics, only emits valid JSON, is
// idempotent, and agrees with encoding/json about which inputs are JSON.
func FuzzJSR(f *testing.F) {
	for _, seed := range []string{
		`[{"capability":"code_review","rate":5,"currency":"TEST"}]`,
		`[{"kind":"commit","label":"fix","value":"abc123","url":"https://x/y"}]`,
		`{"b":1,"2":2,"a":3,"1":4,"a":5}`,
		`[1.0, 1E2, -0, 1e400, 1e-400, 0.1, 1e21, 1.5e-7, 5e-324]`,
		`"\u0041\/\b\f\n\r\t\u0001\u2028<>&é😀"`,
		`["\ud800", "\ud83d\ude00", "\ude00\ud83d"]`,
		`{"\ud800":1,"\udbff":2,"\u0061":3,"a":4}`,
		" { \"a\" : [ 1 , { \"b\" : null } , true , false ] } ",
		"\"a\xe2\x82b\xff\"",
		`[[[[{"a":[[{}]]}]]]]`,
		`{"a":`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := JSR(in)
		if err != nil {
			// JS rejects what Go rejects, except invalid UTF-8 which both
			// replace; deep nesting is our own limit.
			if json.Valid(in) && bytes.Count(in, []byte("["))+bytes.Count(in, []byte("{")) <= jsrMaxDepth {
				t.Fatalf("JSR(%q) failed on valid JSON: %v", in, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("JSR(%q) = %q, not valid JSON", in, out)
		}
		again, err := JSR(out)
		if err != nil {
			t.Fatalf("JSR(JSR(%q)) failed: %v", in, err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("JSR not idempotent on %q:\n first %q\nsecond %q", in, out, again)
		}
		if _, err := EvidenceItemHash(in); err != nil && !bytes.Equal(out, []byte("null")) {
			t.Fatalf("EvidenceItemHash(%q) failed where JSR did not: %v", in, err)
		}
	})
}
