package market

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
)

// maxBundleBody bounds an imported bundle.
const maxBundleBody = 64 << 20

// Handler serves the ledger over HTTP, next to the node's /health:
//
//	GET  /reputation/<id>      an agent's rating, transactions, last update
//	GET  /receipts[?agent=<id>] a bundle of receipts (all, or the agent's)
//	POST /receipts             import a bundle; only verified receipts are kept
func (m *Machine) Handler() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /reputation/{id}", m.serveReputation)
	mux.HandleFunc("GET /receipts", m.serveReceipts)
	mux.HandleFunc("POST /receipts", m.serveImport)
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
	rt := m.Rating(id)
	writeJSON(w, http.StatusOK, map[string]any{"agent_id": id, "rating": rt.Rating,
		"transactions": rt.Transactions, "updated": rt.Updated})
}

func (m *Machine) serveReceipts(w http.ResponseWriter, r *http.Request) {
	var ids []string
	if a := r.URL.Query().Get("agent"); a != "" {
		id, ok := agentParam(a)
		if !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid agent id"})
			return
		}
		ids = m.receiptsOf(id)
		if len(ids) == 0 {
			writeJSON(w, http.StatusOK, ledger.Bundle{Version: 1, Checkpoints: []ledger.Checkpoint{}, Entries: []ledger.BundleEntry{}})
			return
		}
	}
	b, err := m.cfg.Store.Bundle(r.Context(), ids...)
	if err != nil {
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

// receiptsOf lists the proposal IDs of receipts that involve agent.
func (m *Machine) receiptsOf(agent string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, r := range m.receipts {
		if r.Proposal.From == agent || r.Proposal.To == agent {
			ids = append(ids, r.ID())
		}
	}
	return ids
}

// ImportBundle stores a bundle's verified receipts (bad ones are skipped and
// reported) and refolds the ratings.
func (m *Machine) ImportBundle(ctx context.Context, b *ledger.Bundle) (ledger.Report, error) {
	m.settleMu.Lock()
	defer m.settleMu.Unlock()
	rep, err := m.cfg.Store.Import(ctx, b)
	if rerr := m.reload(ctx); rerr != nil {
		return rep, errors.Join(err, rerr)
	}
	return rep, err
}

// reload re-reads every stored receipt and refolds.
func (m *Machine) reload(ctx context.Context) error {
	receipts, err := m.cfg.Store.List(ctx)
	if err != nil {
		return err
	}
	t := ledger.Fold(receipts)
	m.mu.Lock()
	m.receipts, m.table = receipts, t
	m.mu.Unlock()
	return nil
}
