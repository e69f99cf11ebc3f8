package identity

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Lineage is what a set of rotation and revocation records says about keys:
// which key each key handed over to (so every key of one agent maps to its
// current key), and since when a key is revoked. It is a pure function of
// the record set — the order records arrived in does not matter — so every
// node holding the same records computes the same lineage, and the ledger
// fold built on it stays deterministic. Keys are named by agent ID (no
// "@"). A nil *Lineage knows no records. It is immutable once built.
//
// Records are applied in time order (timestamp, then revocations before
// rotations, then the records' signatures), and a rotation old → new
// counts only if the new key countersigned it (NewSignature: a record
// signed by the old key alone could claim any key as its successor), old
// has not handed over before, new has never been seen in an
// accepted record (no merging of two histories, no cycles), and neither
// key was revoked at or before the rotation's time. A revocation of a key
// revokes it and every key before it in its chain, from the revocation's
// time; the keys it later handed over to stay valid only if the handover
// came first (a leaked old key cannot revoke the agent's current one).
type Lineage struct {
	next    map[string]string // accepted rotation old → new
	prev    map[string]string // accepted rotation new → old
	revoked map[string]int64  // key → revocation time (ms)
}

// NewLineage builds the lineage of records the caller has verified
// (VerifyChain, which checks a countersignature that is present;
// VerifyRevocation); the rotation chain a revocation carries counts as
// rotation records. Records whose timestamp does not parse are ignored
// (verification of a record includes RecordTime).
func NewLineage(rotations []Rotation, revocations []Revocation) *Lineage {
	l, _, _ := BuildLineage(rotations, revocations)
	return l
}

// BuildLineage is NewLineage that also reports which records took effect:
// a rotation that was accepted, a revocation that revoked a key (or moved a
// revocation earlier) or one of whose chained rotations was accepted. The
// records that took none have no part in the lineage: the records that did
// give the same lineage without them, so a bundle need carry only those
// (given every record that took effect on a key it names).
func BuildLineage(rotations []Rotation, revocations []Revocation) (l *Lineage, rotUsed, revUsed []bool) {
	type event struct {
		at   int64
		rev  int // index into revocations, or -1
		rot  *Rotation
		used *bool  // the flag of the record the event belongs to
		key  string // tie-breaker: the record's signature
	}
	rotUsed, revUsed = make([]bool, len(rotations)), make([]bool, len(revocations))
	var evs []event
	addRot := func(r *Rotation, used *bool) {
		if at, err := RecordTime(r.Timestamp); err == nil {
			evs = append(evs, event{at: at, rev: -1, rot: r, used: used, key: r.Signature})
		}
	}
	for i := range rotations {
		addRot(&rotations[i], &rotUsed[i])
	}
	for i := range revocations {
		v := &revocations[i]
		for j := range v.Rotations {
			addRot(&v.Rotations[j], &revUsed[i])
		}
		if at, err := RecordTime(v.Timestamp); err == nil {
			evs = append(evs, event{at: at, rev: i, used: &revUsed[i], key: v.Signature})
		}
	}
	slices.SortFunc(evs, func(a, b event) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if (a.rev >= 0) != (b.rev >= 0) {
			if a.rev >= 0 {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.key, b.key)
	})
	l = &Lineage{next: map[string]string{}, prev: map[string]string{}, revoked: map[string]int64{}}
	for _, e := range evs {
		var took bool
		if e.rev >= 0 {
			took = l.revoke(revocations[e.rev].AgentID, e.at)
		} else {
			took = l.rotate(e.rot.OldAgentID, e.rot.NewAgentID, e.rot.NewSignature != "")
		}
		if took {
			*e.used = true
		}
	}
	return l, rotUsed, revUsed
}

// rotate accepts the handover from → to if the rules allow it, and reports
// whether it did. Events come in time order, so a key in revoked is
// revoked at or before this one.
func (l *Lineage) rotate(from, to string, countersigned bool) bool {
	_, fromRevoked := l.revoked[from]
	_, toRevoked := l.revoked[to]
	_, handed := l.next[from]
	switch {
	case from == to, fromRevoked, toRevoked, handed, l.seen(to), !countersigned:
		return false
	}
	l.next[from], l.prev[to] = to, from
	return true
}

// seen reports whether key is part of an accepted rotation.
func (l *Lineage) seen(key string) bool {
	_, a := l.next[key]
	_, b := l.prev[key]
	return a || b
}

// revoke marks key and the keys before it as revoked at ms, keeping an
// earlier revocation time where there is one; it reports whether it
// changed anything.
func (l *Lineage) revoke(key string, ms int64) bool {
	changed := false
	for k, ok := key, true; ok; k, ok = l.prev[k] {
		if old, done := l.revoked[k]; !done || ms < old {
			l.revoked[k], changed = ms, true
		}
	}
	return changed
}

// Current returns the key id handed over to in the end, id itself if it
// never rotated.
func (l *Lineage) Current(id string) string {
	if l == nil {
		return id
	}
	for {
		n, ok := l.next[id]
		if !ok {
			return id
		}
		id = n
	}
}

// SameAgent reports whether keys a and b belong to one agent: one handed
// over to the other, directly or through a chain.
func (l *Lineage) SameAgent(a, b string) bool { return l.Current(a) == l.Current(b) }

// Revoked returns the time (ms) from which key id is revoked.
func (l *Lineage) Revoked(id string) (at int64, ok bool) {
	if l == nil {
		return 0, false
	}
	at, ok = l.revoked[id]
	return at, ok
}

// Keys returns every key of id's agent, oldest first, ending with the
// current one.
func (l *Lineage) Keys(id string) []string {
	if l == nil {
		return []string{id}
	}
	for {
		p, ok := l.prev[id]
		if !ok {
			break
		}
		id = p
	}
	keys := []string{id}
	for {
		n, ok := l.next[id]
		if !ok {
			return keys
		}
		keys = append(keys, n)
		id = n
	}
}

// RecordTime parses a rotation or revocation timestamp (ISO-8601, as the
// original client writes it) into Unix milliseconds.
func RecordTime(ts string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return 0, fmt.Errorf("record timestamp %q: %w", ts, err)
	}
	return t.UnixMilli(), nil
}
