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

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/testnet"
)

// reloadable are the settings SIGHUP re-reads from the config file (and,
// for peers, the data dir's peers file). A setting given on the command
// line or in the environment stays as given.
var reloadable = []string{"log-level", "allowlist", "allowlist-strict", "peer"}

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
	added, err := r.reloadPeers(file)
	if err != nil {
		r.log.Error("reload: peers", "err", err)
	}
	if added > 0 {
		changed = append(changed, "peer")
	}
	level, _ := r.level.Level().MarshalText()
	on, st := r.n.Server.Allowlist()
	r.log.Info("configuration reloaded", "changed", changed, "log_level", string(level),
		"allowlist", on, "allowlist_strict", st, "peers_added", added, "peers", len(r.peers))
}

// reloadPeers keeps the peers newly listed (config or peers file). Peers
// no longer listed stay connected until the node restarts.
func (r *reloader) reloadPeers(file map[string]any) (int, error) {
	var listed []string
	if r.pinned["peer"] {
		listed = r.c.StringSlice("peer")
	} else if v, ok := file["peer"]; ok {
		vals, err := flagValues(&cli.StringSliceFlag{}, v)
		if err != nil {
			return 0, err
		}
		listed = vals
	}
	fromFile, err := readPeersFile(filepath.Join(r.c.String("data-dir"), "peers"))
	if err != nil {
		return 0, err
	}
	added := 0
	for _, p := range append(listed, fromFile...) {
		if slices.Contains(r.peers, p) {
			continue
		}
		if err := r.n.Host.AddPeer(p); err != nil {
			r.log.Warn("reload: peer refused", "peer", p, "err", err)
			continue
		}
		r.peers = append(r.peers, p)
		added++
	}
	return added, nil
}
