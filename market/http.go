package market

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
)

// maxBundleBody bounds an imported bundle.
const maxBundleBody = 64 << 20

// maxIdentityBody bounds a submitted identity record (a revocation carries
// the whole rotation chain).
const maxIdentityBody = 1 << 20

// Handler serves the ledger over HTTP, next to the node's /health:
//
//	GET  /reputation/<id>      an agent's rating, transactions (rated receipts),
//	                           settled (all its receipts), last update
//	GET  /receipts[?agent=<id>] a bundle of receipts (all, or those the
//	                           agent's rating depends on)
//	POST /receipts             import a bundle; only verified receipts are kept
//	GET  /identities           the rotation and revocation records held
//	POST /identities           submit one such record; the mesh learns it
//	GET  /disputes/<id>        an agentcourt case held here: phase, deadlines,
//	                           seats, verdict (court_http.go)
func (m *Machine) Handler() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /reputation/{id}", m.serveReputation)
	mux.HandleFunc("GET /receipts", m.serveReceipts)
	mux.HandleFunc("POST /receipts", m.serveImport)
	mux.HandleFunc("GET /identities", m.serveIdentities)
	mux.HandleFunc("POST /identities", m.serveSubmitIdentity)
	mux.HandleFunc("GET /disputes/{id}", m.serveDispute)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func agentParam(s string) (string, bool) {
	id := strings.TrimPrefix(s, "@")
	return "@" + id, identity.ValidAgentID(id)
}

func (m *Machine) serveReputation(w http.ResponseWriter, r *http.Request) {
	id, ok := agentParam(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid agent id"})
		return
	}
	rt, unrated := m.standing(id)
	if unrated == nil {
		unrated = map[string]int{}
	}
	// unrated explains settled − transactions, by reason.
	writeJSON(w, http.StatusOK, map[string]any{"agent_id": id, "rating": rt.Rating,
		"transactions": rt.Transactions, "settled": rt.Settled, "unrated": unrated, "updated": rt.Updated})
}

func (m *Machine) serveReceipts(w http.ResponseWriter, r *http.Request) {
	b, err := m.exportBundle(r.Context(), r.URL.Query().Get("agent"))
	switch {
	case errors.Is(err, errBadAgent):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid agent id"})
		return
	case errors.Is(err, ledger.ErrNoProof):
		// A receipt stored by an older version without its proof: the next
		// reconciliation fetches the proven record from the mesh.
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error() +
			" (the proof is fetched from the mesh at the next reconciliation; retry later)"})
		return
	case err != nil:
		m.log.Error("export receipts", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	data, err := b.Encode()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}

func (m *Machine) serveImport(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBundleBody+1))
	if err != nil || len(data) > maxBundleBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "bundle too large or unreadable"})
		return
	}
	b, err := ledger.DecodeBundle(data)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rep, err := m.ImportBundle(r.Context(), b)
	status := http.StatusOK
	if err != nil && !errors.Is(err, ledger.ErrBadBundle) {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, rep)
}

// ImportBundle stores a bundle's verified receipts and identity records
// (bad ones are skipped and reported) and refolds the ratings. New identity
// records are added as AddIdentities adds them, so OnIdentities runs (a
// revocation among them disconnects the revoked key).
func (m *Machine) ImportBundle(ctx context.Context, b *ledger.Bundle) (ledger.Report, error) {
	n, rep, err := m.importBundle(ctx, b)
	if n > 0 && m.cfg.OnIdentities != nil {
		m.cfg.OnIdentities()
	}
	return rep, err
}

func (m *Machine) importBundle(ctx context.Context, b *ledger.Bundle) (int, ledger.Report, error) {
	m.settleMu.Lock()
	defer m.settleMu.Unlock()
	var good []ledger.IdentityRecord
	for _, rec := range b.Identities {
		if rec.Verify() == nil { // Store.Import reports the others
			good = append(good, rec)
		}
	}
	n, ierr := m.addIdentitiesLocked(ctx, good)
	rep, err := m.cfg.Store.Import(ctx, b)
	if rerr := m.reload(ctx); rerr != nil {
		return n, rep, errors.Join(ierr, err, rerr)
	}
	return n, rep, errors.Join(ierr, err)
}

// reload re-reads every stored receipt and refolds.
func (m *Machine) reload(ctx context.Context) error {
	receipts, err := m.cfg.Store.List(ctx)
	if err != nil {
		return err
	}
	unproven, err := unprovenOf(ctx, m.cfg.Store, receipts)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.receipts, m.parties, m.unproven = nil, nil, unproven
	m.holdLocked(receipts...)
	m.refoldLocked()
	m.mu.Unlock()
	return nil
}

func (m *Machine) serveIdentities(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	recs := slices.Clone(m.idents.Records())
	m.mu.Unlock()
	if recs == nil {
		recs = []ledger.IdentityRecord{}
	}
	writeJSON(w, http.StatusOK, recs)
}

// serveSubmitIdentity takes one rotation or revocation record — as
// {"rotation":{…}} or {"revocation":{…}}, the record forms the mesh uses —
// verifies and stores it, and gossips it.
func (m *Machine) serveSubmitIdentity(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxIdentityBody+1))
	if err != nil || len(data) > maxIdentityBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "record too large or unreadable"})
		return
	}
	rec, err := ledger.DecodeIdentityRecord(data)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	n, err := m.AddIdentities(r.Context(), []ledger.IdentityRecord{rec})
	if err != nil {
		m.log.Error("store identity record", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if n > 0 && m.cfg.OnIdentity != nil {
		m.cfg.OnIdentity(rec.Encode())
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": rec.ID(), "new": n > 0})
}
