package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

type ed25519PublicKey = ed25519.PublicKey

func cutComma(s string) (string, string, bool) {
	before, after, ok := strings.Cut(s, ",")
	return strings.TrimSpace(before), after, ok
}

// newID returns prefix + base36(ms) + "_" + 8 hex, the shape of the
// original's challenge, verify and proposal IDs.
func newID(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + strconv.FormatInt(time.Now().UnixMilli(), 36) + "_" + hex.EncodeToString(b[:])
}

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// newMsgID returns <ms>-<6 base36 chars> (§9.1).
func newMsgID(ms int64) string {
	var r [6]byte
	_, _ = rand.Read(r[:])
	b := strconv.AppendInt(make([]byte, 0, 20), ms, 10)
	b = append(b, '-')
	for _, v := range r {
		b = append(b, base36[int(v)%36])
	}
	return string(b)
}

func boolPtr(b bool) *bool { return &b }

func hexKey(k []byte) string { return hex.EncodeToString(k) }
