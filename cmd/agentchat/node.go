package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/bridge"
	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
	"github.com/agentchat/mesh/testnet"
)

func env(name string) []string { return []string{"AGENTCHAT_" + name} }

func defaultDataDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".agentchat/node"
	}
	return filepath.Join(home, ".agentchat", "node")
}

func nodeFlags() []cli.Flag {
	d := node.DefaultConfig()
	p := p2p.DefaultConfig()
	return categorized([]cli.Flag{
		&cli.StringFlag{Name: "listen", Value: d.Listen, Usage: "websocket and HTTP listener `HOST:PORT`", EnvVars: env("LISTEN")},
		&cli.StringFlag{Name: "data-dir", Value: defaultDataDir(), Usage: "node data `DIR` (key, allowlist, bans, datastore; a `peers` file there lists bootstrap peers)", EnvVars: env("DATA_DIR")},
		&cli.StringFlag{Name: "name", Value: d.ServerName, Usage: "server name shown in WELCOME and /health", EnvVars: env("SERVER_NAME")},
		&cli.StringFlag{Name: "channels", Value: strings.Join(d.Channels, ","), Usage: "public channels created at start, comma separated", EnvVars: env("CHANNELS")},
		&cli.IntFlag{Name: "buffer-size", Value: d.BufferSize, Usage: "replay buffer length per channel", EnvVars: env("BUFFER_SIZE")},
		&cli.IntFlag{Name: "max-content", Value: d.Limits.MaxContent, Usage: "MSG content limit in characters (UTF-16 units)", EnvVars: env("MAX_CONTENT")},
		&cli.Int64Flag{Name: "max-frame", Value: d.MaxFrame, Usage: "websocket frame limit in bytes", EnvVars: env("MAX_FRAME")},
		&cli.BoolFlag{Name: "no-rate-limits", Usage: "turn the per-connection rate limits off (benchmarks)", EnvVars: env("NO_RATE_LIMITS")},
		&cli.IntFlag{Name: "max-conns-per-ip", Value: d.MaxConnsPerIP, Usage: "concurrent sockets per client IP (0: no cap)", EnvVars: env("MAX_CONNS_PER_IP")},
		&cli.BoolFlag{Name: "trust-proxy", Usage: "take the client IP from X-Forwarded-For", EnvVars: env("TRUST_PROXY")},
		&cli.IntFlag{Name: "send-queue", Value: d.SendQueue, Usage: "frames queued per agent before it is dropped as a slow consumer", EnvVars: env("SEND_QUEUE")},
		&cli.DurationFlag{Name: "write-delay", Value: d.WriteDelay, Usage: "let frames for a busy agent gather this long before a write (fewer syscalls, that much more latency; 0: write at once)", EnvVars: env("WRITE_DELAY")},
		&cli.StringFlag{Name: "admin-key", Usage: "key that authorises the admin operations (allowlist, kick, ban, MOTD, verify); bans bind this node only", EnvVars: env("ADMIN_KEY")},
		&cli.StringSliceFlag{Name: "honor-bans-from", Usage: "also enforce the ban records signed by this operator `KEY` (64 hex, or a PEM or identity file; repeatable)", EnvVars: env("HONOR_BANS_FROM")},
		&cli.BoolFlag{Name: "allowlist", Usage: "enable the pubkey allowlist", EnvVars: env("ALLOWLIST")},
		&cli.BoolFlag{Name: "allowlist-strict", Usage: "refuse pubkeys not on the allowlist, and ephemeral agents", EnvVars: env("ALLOWLIST_STRICT")},
		&cli.BoolFlag{Name: "no-private-channels", Usage: "refuse invite-only channels and INVITE", EnvVars: env("NO_PRIVATE_CHANNELS")},
		&cli.BoolFlag{Name: "no-notices", Usage: "do not post came-online / went-offline / joined notices", EnvVars: env("NO_NOTICES")},
		&cli.DurationFlag{Name: "park-after", Value: node.DefaultConfig().ParkAfter, Usage: "park the socket of an agent silent this long: no goroutine or buffer held until it sends (Linux; 0: never)", EnvVars: env("PARK_AFTER")},
		&cli.IntFlag{Name: "presence-limit", Value: node.DefaultConfig().PresenceLimit, Usage: "send AGENT_JOINED / AGENT_LEFT and notices only in channels with at most `N` members (0: always)", EnvVars: env("PRESENCE_LIMIT")},
		&cli.StringFlag{Name: "motd", Usage: "initial message of the day", EnvVars: env("MOTD")},
		&cli.StringFlag{Name: "tls-cert", Usage: "TLS certificate `FILE` (serve wss://)", EnvVars: env("TLS_CERT")},
		&cli.StringFlag{Name: "tls-key", Usage: "TLS key `FILE`", EnvVars: env("TLS_KEY")},
		// The mesh.
		&cli.StringSliceFlag{Name: "p2p-listen", Value: cli.NewStringSlice(p.Listen...), Usage: "libp2p listen `MULTIADDR` (repeatable)", EnvVars: env("P2P_LISTEN")},
		&cli.StringSliceFlag{Name: "peer", Usage: "bootstrap peer `MULTIADDR` with /p2p/<id> (repeatable); kept connected", EnvVars: env("PEERS")},
		&cli.BoolFlag{Name: "mdns", Usage: "discover nodes on the local network with mDNS", EnvVars: env("MDNS")},
		&cli.BoolFlag{Name: "dht", Usage: "discover nodes through the Kademlia DHT", EnvVars: env("DHT")},
		&cli.BoolFlag{Name: "p2p-private-addrs", Usage: "also dial the private (LAN) addresses other nodes announce (on with --local)", EnvVars: env("P2P_PRIVATE_ADDRS")},
		&cli.IntFlag{Name: "conn-low", Value: p.ConnLow, Usage: "libp2p connection manager low watermark", EnvVars: env("CONN_LOW")},
		&cli.IntFlag{Name: "conn-high", Value: p.ConnHigh, Usage: "libp2p connection manager high watermark", EnvVars: env("CONN_HIGH")},
		&cli.IntFlag{Name: "p2p-max-conns", Value: p.MaxConns, Usage: "libp2p resource manager connection limit (0: scaled default)", EnvVars: env("P2P_MAX_CONNS")},
		&cli.BoolFlag{Name: "local", Usage: "loopback-only mesh settings with short timers (testnets)", EnvVars: env("LOCAL")},
		&cli.StringFlag{Name: "pprof", Usage: "serve Go profiles (net/http/pprof) on `HOST:PORT` (keep it on loopback)", EnvVars: env("PPROF")},
		&cli.StringFlag{Name: "metrics-listen", Usage: "also serve GET /metrics on `HOST:PORT` (it is always on the websocket port too)", EnvVars: env("METRICS_LISTEN")},
		&cli.StringFlag{Name: "config", Usage: "TOML `FILE` of settings by flag name (flags and environment override it; SIGHUP re-reads it)", EnvVars: env("CONFIG")},
		// The marketplace.
		&cli.DurationFlag{Name: "min-proposal-age", Value: market.DefaultMinAge, Usage: "refuse COMPLETE on younger proposals (0: off)", EnvVars: env("MIN_PROPOSAL_AGE")},
		&cli.StringSliceFlag{Name: "webhook", Usage: "`URL` that receives escrow events as POSTed JSON (repeatable)", EnvVars: env("WEBHOOKS")},
		// Agentcourt (PROTOCOL.md §13.1).
		&cli.DurationFlag{Name: "court-reveal", Value: market.DefaultReveal, Usage: "time a disputant has to reveal its nonce", EnvVars: env("COURT_REVEAL")},
		&cli.DurationFlag{Name: "court-response", Value: market.DefaultResponse, Usage: "time an arbiter has to accept or decline a seat", EnvVars: env("COURT_RESPONSE")},
		&cli.DurationFlag{Name: "court-evidence", Value: market.DefaultEvidence, Usage: "evidence period (ends early once both parties submitted)", EnvVars: env("COURT_EVIDENCE")},
		&cli.DurationFlag{Name: "court-vote", Value: market.DefaultVote, Usage: "deliberation period (ends early once every arbiter voted)", EnvVars: env("COURT_VOTE")},
		&cli.IntFlag{Name: "court-min-rating", Value: market.DefaultArbiterMin, Usage: "rating an agent needs to be drawn as an arbiter", EnvVars: env("COURT_MIN_RATING")},
		&cli.IntFlag{Name: "court-min-transactions", Value: market.DefaultArbiterMinTx, Usage: "rated transactions an agent needs to be drawn as an arbiter", EnvVars: env("COURT_MIN_TRANSACTIONS")},
	})
}

func nodeCommand() *cli.Command {
	return &cli.Command{
		Name:        "node",
		Usage:       "run a node: agents connect to it over websockets, nodes join one libp2p mesh",
		Description: bansHelp,
		Flags:       nodeFlags(),
		Action: func(c *cli.Context) error {
			hup := notifyHUP()
			defer signal.Stop(hup)
			pinned := pinnedFlags(c)
			var fromFile []string
			if path := c.String("config"); path != "" {
				var err error
				if fromFile, err = applyConfigFile(c, path); err != nil {
					return err
				}
			}
			log, level, err := newLevelLogger(c)
			if err != nil {
				return err
			}
			routeLibp2pLogs(log.Handler())
			if len(fromFile) > 0 {
				log.Info("config file read", "path", c.String("config"), "settings", fromFile)
			}
			cfg, err := nodeConfig(c)
			if err != nil {
				return err
			}
			cfg.Logger = log
			if err := checkPortsFree(cfg.Node.Listen, cfg.P2P.Listen); err != nil {
				return err
			}
			if addr := c.String("pprof"); addr != "" {
				stop, err := servePprof(addr, log)
				if err != nil {
					return err
				}
				defer stop()
			}
			n, err := testnet.StartNode(c.Context, cfg)
			if err != nil {
				return err
			}
			if addr := c.String("metrics-listen"); addr != "" {
				stop, err := serveSide("metrics-listen", addr, n.Metrics.Handler(), log)
				if err != nil {
					_ = n.Close()
					return err
				}
				defer stop()
			}
			r := &reloader{c: c, n: n, level: level, log: log, pinned: pinned, peers: cfg.P2P.Peers}
			defer r.watch(hup)()
			scheme := "ws"
			if cfg.Node.TLSCert != "" {
				scheme = "wss"
			}
			log.Info("node started", "url", fmt.Sprintf("%s://%s", scheme, n.Server.Addr()),
				"peer_id", n.Host.ID(), "p2p_addrs", strings.Join(n.Host.Addrs(), " "), "data_dir", n.Data.Path)
			return n.Wait()
		},
	}
}

// nodeConfig maps the flags onto a full node's configuration.
func nodeConfig(c *cli.Context) (testnet.NodeConfig, error) {
	cfg := node.DefaultConfig()
	pc, bc := p2p.DefaultConfig(), bridge.DefaultConfig()
	if c.Bool("local") {
		pc, bc = p2p.LocalConfig(), bridge.LocalConfig()
	}
	cfg.Listen = c.String("listen")
	cfg.ServerName = c.String("name")
	cfg.Version = version
	cfg.Channels = splitList(c.String("channels"))
	cfg.BufferSize = c.Int("buffer-size")
	cfg.Limits.MaxContent = c.Int("max-content")
	cfg.MaxFrame = c.Int64("max-frame")
	cfg.Limits.MaxChunk = int(cfg.MaxFrame)
	cfg.RateLimits = !c.Bool("no-rate-limits")
	cfg.MaxConnsPerIP = c.Int("max-conns-per-ip")
	cfg.TrustProxy = c.Bool("trust-proxy")
	cfg.SendQueue = c.Int("send-queue")
	cfg.WriteDelay = c.Duration("write-delay")
	cfg.AdminKey = c.String("admin-key")
	keys, err := operatorKeys(c.StringSlice("honor-bans-from"))
	if err != nil {
		return testnet.NodeConfig{}, err
	}
	cfg.HonorBansFrom = keys
	cfg.Allowlist = c.Bool("allowlist") || c.Bool("allowlist-strict")
	cfg.AllowlistStrict = c.Bool("allowlist-strict")
	cfg.PrivateChannels = !c.Bool("no-private-channels")
	cfg.Notices = !c.Bool("no-notices")
	cfg.PresenceLimit = c.Int("presence-limit")
	cfg.ParkAfter = c.Duration("park-after")
	cfg.Motd = c.String("motd")
	cfg.TLSCert, cfg.TLSKey = c.String("tls-cert"), c.String("tls-key")
	cfg.Secrets = node.SecretsFromEnv(os.Environ())

	if c.IsSet("p2p-listen") || !c.Bool("local") {
		pc.Listen = c.StringSlice("p2p-listen")
	}
	pc.MDNS, pc.DHT = c.Bool("mdns"), c.Bool("dht")
	pc.AllowPrivateAddrs = pc.AllowPrivateAddrs || c.Bool("p2p-private-addrs")
	pc.ConnLow, pc.ConnHigh, pc.MaxConns = c.Int("conn-low"), c.Int("conn-high"), c.Int("p2p-max-conns")
	pc.Peers = c.StringSlice("peer")
	filePeers, err := readPeersFile(filepath.Join(c.String("data-dir"), "peers"))
	if err != nil {
		return testnet.NodeConfig{}, err
	}
	pc.Peers = append(pc.Peers, filePeers...)
	mc := market.Config{MinAge: c.Duration("min-proposal-age"), Court: market.CourtConfig{
		Reveal: c.Duration("court-reveal"), Response: c.Duration("court-response"),
		Evidence: c.Duration("court-evidence"), Vote: c.Duration("court-vote"),
		MinRating: float64(c.Int("court-min-rating")), MinTransactions: c.Int("court-min-transactions")}}
	return testnet.NodeConfig{DataDir: c.String("data-dir"), Node: cfg, P2P: pc, Bridge: bc, Market: mc,
		Webhooks: c.StringSlice("webhook")}, nil
}

// readPeersFile reads bootstrap multiaddrs, one per line, # comments
// allowed; a missing file is no peers.
func readPeersFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// splitList splits a comma or space separated list, dropping empties.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
