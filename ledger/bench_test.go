package ledger

import (
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkEd25519Verify is the floor for BenchmarkVerifyReceipt: one raw
// Ed25519 verification of a message the size of a signing string. A receipt
// needs four (proposal, accept, outcome, node), plus PEM parsing and hashing.
func BenchmarkEd25519Verify(b *testing.B) {
	msg := []byte("@0123456789abcdef|Review PR #42|1.5|SOL||300|25")
	pub := alice.priv.Public().(ed25519.PublicKey)
	sig := ed25519.Sign(alice.priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

func BenchmarkVerifyReceipt(b *testing.B) {
	r := rspec{amount: f64(1.5), propStake: i64(10), accStake: i64(5), proof: "https://example.com/pr/42"}.signed(b)
	for b.Loop() {
		if err := Verify(&r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

func BenchmarkDecodeReceipt(b *testing.B) {
	r := rspec{amount: f64(1.5), proof: "https://example.com/pr/42"}.signed(b)
	js := r.CanonicalJSON()
	b.SetBytes(int64(len(js)))
	for b.Loop() {
		if _, err := DecodeReceipt(js); err != nil {
			b.Fatal(err)
		}
	}
}

// syntheticReceipts returns n receipts over agents agents, made from one
// signed template with varied IDs, parties, times, kinds, amounts and stakes.
// Their signatures do not verify; the fold never checks them.
func syntheticReceipts(b *testing.B, n, agents int) []Receipt {
	tmpl := rspec{proof: "https://example.com/pr/42"}.signed(b)
	ids := make([]string, agents)
	for i := range ids {
		ids[i] = fmt.Sprintf("@%016x", i*7919+1)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]Receipt, n)
	for i := range out {
		r := tmpl
		a := rng.IntN(agents)
		c := (a + 1 + rng.IntN(agents-1)) % agents
		r.Proposal.ProposalID = fmt.Sprintf("prop_%08d", i)
		r.Proposal.From, r.Proposal.To = ids[a], ids[c]
		r.Outcome.By = ids[a]
		r.Outcome.SettledAt = t0 + int64(rng.IntN(n))*60_000
		if rng.IntN(4) == 0 {
			r.Outcome.Kind, r.Outcome.Proof, r.Outcome.Reason = KindDispute, "", "late"
			if rng.IntN(2) == 0 {
				r.Outcome.By = ids[c]
			}
		}
		if rng.IntN(2) == 0 {
			r.Proposal.Amount = f64(float64(rng.IntN(1000)))
		}
		if rng.IntN(5) == 0 {
			r.Proposal.EloStake = i64(int64(rng.IntN(50)))
		}
		out[i] = r
	}
	return out
}

// BenchmarkFold100k is a full refold of 100,000 receipts: sort, de-duplicate
// and apply. Receipt generation is outside the timer.
func BenchmarkFold100k(b *testing.B) {
	const n = 100_000
	rs := syntheticReceipts(b, n, 2000)
	var t *Table
	for b.Loop() {
		t = Fold(rs)
	}
	if t.Receipts() != n {
		b.Fatalf("folded %d receipts", t.Receipts())
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

func BenchmarkTableBytes100k(b *testing.B) {
	t := Fold(syntheticReceipts(b, 100_000, 2000))
	for b.Loop() {
		_ = t.Bytes()
	}
}
