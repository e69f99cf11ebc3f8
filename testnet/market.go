package testnet

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/agentchat/mesh/bridge"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
)

// Names of the replicated sets on the mesh.
const (
	receiptsSet   = "receipts"
	skillsSet     = "skills"
	identitiesSet = "identities"
)

var (
	_ bridge.Replica   = market.ReceiptSet{}
	_ bridge.Replica   = market.SkillSet{}
	_ bridge.Replica   = market.IdentitySet{}
	_ node.Revocations = (*market.Machine)(nil)
)

// marketAdapter presents the market as the node's Market: the two
// packages do not import each other, and their Caller and Courier have the
// same shape.
type marketAdapter struct{ m *market.Machine }

var _ node.Market = marketAdapter{}

func (a marketAdapter) Handle(ctx context.Context, from node.Caller, msg protocol.Message, c node.Courier) *protocol.Error {
	return a.m.Handle(ctx, market.Caller(from), msg, c)
}

func (a marketAdapter) Observe(from node.Caller, frame []byte) {
	a.m.Observe(market.Caller(from), frame)
}

func (a marketAdapter) ObserveCase(node string, frame []byte) { a.m.ObserveCase(node, frame) }

func (a marketAdapter) Stats() node.ProposalStats {
	total, by, agents := a.m.Stats()
	return node.ProposalStats{Total: total, ByStatus: by, Agents: agents}
}

// startMarket opens the receipt store and builds the market with its
// escrow hooks, its receipts, skills and identity records replicated over
// the bridge; run delivers webhooks until its context ends. onIdentities
// is called when new identity records are folded in. The ledger's series
// go to metrics.
func startMarket(ctx context.Context, dd *node.DataDir, cfg NodeConfig, br *bridge.Bridge, log *slog.Logger,
	onIdentities func(), metrics *Metrics) (*market.Machine, *ledger.Hooks, func(context.Context) error, error) {
	store, err := ledger.OpenStore(ctx, ledger.StoreConfig{Datastore: dd.Store, NodeKey: dd.Key})
	if err != nil {
		return nil, nil, nil, err
	}
	hooks := ledger.NewHooks(log)
	run := func(ctx context.Context) error { <-ctx.Done(); return nil }
	var wh *ledger.Webhooks
	if len(cfg.Webhooks) > 0 {
		wcfg := ledger.DefaultWebhookConfig(cfg.Webhooks...)
		wcfg.SigningKey, wcfg.Logger = dd.Key, log
		wh, err = ledger.NewWebhooks(wcfg)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("webhooks: %w", err)
		}
		wh.Attach(hooks)
		run = wh.Run
	}
	metrics.registerLedger(store, wh)
	mc := cfg.Market
	mc.NodeKey, mc.Store, mc.Datastore, mc.Hooks, mc.Logger = dd.Key, store, dd.Store, hooks, log
	mc.OnReceipt = func(raw []byte) { br.Announce(receiptsSet, raw) }
	mc.OnSkills = func(raw []byte) { br.Announce(skillsSet, raw) }
	mc.OnIdentity = func(raw []byte) { br.Announce(identitiesSet, raw) }
	mc.OnIdentities = onIdentities
	m, err := market.New(ctx, mc)
	if err != nil {
		return nil, nil, nil, err
	}
	br.Replicate(receiptsSet, m.Receipts())
	br.Replicate(skillsSet, m.Skills())
	br.Replicate(identitiesSet, m.Identities())
	return m, hooks, run, nil
}
