package market

import (
	"context"
	"errors"

	"github.com/agentchat/mesh/ledger"
)

// errBadAgent means an export named something that is not an agent ID.
var errBadAgent = errors.New("invalid agent id")

// exportBundle builds the bundle GET /receipts serves (ledger.Store.Export,
// with the identity records held in memory):
// every provable receipt, or for an agent ("@" optional) the receipts its
// rating depends on, so the bundle refolds offline to what /reputation
// shows.
func (m *Machine) exportBundle(ctx context.Context, agent string) (*ledger.Bundle, error) {
	m.mu.Lock()
	idents := m.idents
	m.mu.Unlock()
	if agent == "" {
		return m.cfg.Store.Export(ctx, "", idents)
	}
	id, ok := agentParam(agent)
	if !ok {
		return nil, errBadAgent
	}
	return m.cfg.Store.Export(ctx, id, idents)
}
