package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/testnet"
)

// reloadable are the settings SIGHUP re-reads from the config file (and,
// for peers, the data dir's peers file). A setting given on the command
// line or in the environment stays as given.
var reloadable = []string{"log-level", "allowlist", "allowlist-strict", "peer", "honor-bans-from"}

// reloader applies reloadable settings to a running node.
type reloader struct {
	c      *cli.Context
	n      *testnet.Node
	level  *slog.LevelVar
	log    *slog.Logger
	pinned map[string]bool // set on the command line or in the environment
	peers  []string        // peers kept so far
}

// pinnedFlags records which reloadable settings the command line or the
// environment set; call it before the config file is applied.
func pinnedFlags(c *cli.Context) map[string]bool {
	p := map[string]bool{}
	for _, name := range reloadable {
		p[name] = c.IsSet(name)
	}
	return p
}

// notifyHUP starts catching SIGHUP, which would otherwise kill the
// process; a signal that arrives before watch runs is kept for it.
func notifyHUP() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}

// watch reloads on every signal from hup until stop is called.
func (r *reloader) watch(hup chan os.Signal) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload()
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}

// reload re-reads the config file and the peers file and applies what
// changed, logging it; a broken file changes nothing.
func (r *reloader) reload() {
	file := map[string]any{}
	if path := r.c.String("config"); path != "" {
		m, err := readConfigFile(path)
		if err != nil {
			r.log.Error("reload refused: nothing changed", "err", err)
			return
		}
		file = m
	}
	want := func(name, def string) string {
		if r.pinned[name] {
			return r.c.String(name)
		}
		v, ok := file[name]
		if !ok {
			return def
		}
		switch v := v.(type) {
		case string:
			return v
		case bool:
			return strconv.FormatBool(v)
		}
		return def
	}
	var changed []string
	before := r.level.Level()
	if err := setLevel(r.level, want("log-level", "info")); err != nil {
		r.log.Error("reload: log level", "err", err)
	} else if r.level.Level() != before {
		changed = append(changed, "log-level")
	}
	strict := want("allowlist-strict", "false") == "true"
	if r.n.Server.SetAllowlist(strict || want("allowlist", "false") == "true", strict) {
		changed = append(changed, "allowlist")
	}
	if honoured, err := r.reloadHonoured(file); err != nil {
		r.log.Error("reload: honor-bans-from", "err", err)
	} else if honoured {
		changed = append(changed, "honor-bans-from")
	}
	added, removed, err := r.reloadPeers(file)
	if err != nil {
		r.log.Error("reload: peers", "err", err)
	}
	if added+removed > 0 {
		changed = append(changed, "peer")
	}
	level, _ := r.level.Level().MarshalText()
	on, st := r.n.Server.Allowlist()
	r.log.Info("configuration reloaded", "changed", changed, "log_level", string(level),
		"allowlist", on, "allowlist_strict", st, "peers_added", added, "peers_removed", removed, "peers", len(r.peers))
}

// listed is a list setting as the command line pins it or the config file
// gives it (nil when neither does).
func (r *reloader) listed(file map[string]any, name string) ([]string, error) {
	if r.pinned[name] {
		return r.c.StringSlice(name), nil
	}
	v, ok := file[name]
	if !ok {
		return nil, nil
	}
	return flagValues(&cli.StringSliceFlag{}, v)
}

// reloadHonoured applies honor-bans-from and reports whether the set of
// honoured operators changed; a key that does not parse changes nothing.
func (r *reloader) reloadHonoured(file map[string]any) (bool, error) {
	vals, err := r.listed(file, "honor-bans-from")
	if err != nil {
		return false, err
	}
	keys, err := operatorKeys(vals)
	if err != nil {
		return false, err
	}
	return r.n.Server.SetHonorBansFrom(keys), nil
}

// reloadPeers keeps the peers listed now (config and peers file) and stops
// keeping the ones no longer listed: they are not redialled and the
// connection manager may trim them, but an open connection stays open.
func (r *reloader) reloadPeers(file map[string]any) (added, removed int, err error) {
	listed, err := r.listed(file, "peer")
	if err != nil {
		return 0, 0, err
	}
	fromFile, err := readPeersFile(filepath.Join(r.c.String("data-dir"), "peers"))
	if err != nil {
		return 0, 0, err
	}
	want := slices.Concat(listed, fromFile)
	kept := r.peers[:0:0]
	for _, p := range r.peers {
		if slices.Contains(want, p) {
			kept = append(kept, p)
			continue
		}
		if !samePeerListed(p, want) {
			if err := r.n.Host.RemovePeer(p); err != nil {
				r.log.Warn("reload: peer not removed", "peer", p, "err", err)
				kept = append(kept, p)
				continue
			}
		}
		removed++
	}
	for _, p := range want {
		if slices.Contains(kept, p) {
			continue
		}
		if err := r.n.Host.AddPeer(p); err != nil {
			r.log.Warn("reload: peer refused", "peer", p, "err", err)
			continue
		}
		kept = append(kept, p)
		added++
	}
	r.peers = kept
	return added, removed, nil
}

// samePeerListed reports whether want lists addr's peer under another
// address, so that dropping addr must not stop keeping the peer.
func samePeerListed(addr string, want []string) bool {
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return false
	}
	for _, w := range want {
		if wi, err := peer.AddrInfoFromString(w); err == nil && wi.ID == ai.ID {
			return true
		}
	}
	return false
}
