package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/node"
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
	return []cli.Flag{
		&cli.StringFlag{Name: "listen", Value: d.Listen, Usage: "websocket and HTTP listener `HOST:PORT`", EnvVars: env("LISTEN")},
		&cli.StringFlag{Name: "data-dir", Value: defaultDataDir(), Usage: "node data `DIR` (key, allowlist, bans, datastore)", EnvVars: env("DATA_DIR")},
		&cli.StringFlag{Name: "name", Value: d.ServerName, Usage: "server name shown in WELCOME and /health", EnvVars: env("SERVER_NAME")},
		&cli.StringFlag{Name: "channels", Value: strings.Join(d.Channels, ","), Usage: "public channels created at start, comma separated", EnvVars: env("CHANNELS")},
		&cli.IntFlag{Name: "buffer-size", Value: d.BufferSize, Usage: "replay buffer length per channel", EnvVars: env("BUFFER_SIZE")},
		&cli.IntFlag{Name: "max-content", Value: d.Limits.MaxContent, Usage: "MSG content limit in characters (UTF-16 units)", EnvVars: env("MAX_CONTENT")},
		&cli.Int64Flag{Name: "max-frame", Value: d.MaxFrame, Usage: "websocket frame limit in bytes", EnvVars: env("MAX_FRAME")},
		&cli.BoolFlag{Name: "no-rate-limits", Usage: "turn the per-connection rate limits off (benchmarks)", EnvVars: env("NO_RATE_LIMITS")},
		&cli.IntFlag{Name: "max-conns-per-ip", Value: d.MaxConnsPerIP, Usage: "concurrent sockets per client IP (0: no cap)", EnvVars: env("MAX_CONNS_PER_IP")},
		&cli.BoolFlag{Name: "trust-proxy", Usage: "take the client IP from X-Forwarded-For", EnvVars: env("TRUST_PROXY")},
		&cli.IntFlag{Name: "send-queue", Value: d.SendQueue, Usage: "frames queued per agent before it is dropped as a slow consumer", EnvVars: env("SEND_QUEUE")},
		&cli.StringFlag{Name: "admin-key", Usage: "key that authorises the admin operations (allowlist, kick, ban, MOTD, verify)", EnvVars: env("ADMIN_KEY")},
		&cli.BoolFlag{Name: "allowlist", Usage: "enable the pubkey allowlist", EnvVars: env("ALLOWLIST")},
		&cli.BoolFlag{Name: "allowlist-strict", Usage: "refuse pubkeys not on the allowlist, and ephemeral agents", EnvVars: env("ALLOWLIST_STRICT")},
		&cli.BoolFlag{Name: "no-private-channels", Usage: "refuse invite-only channels and INVITE", EnvVars: env("NO_PRIVATE_CHANNELS")},
		&cli.BoolFlag{Name: "no-notices", Usage: "do not post came-online / went-offline / joined notices", EnvVars: env("NO_NOTICES")},
		&cli.StringFlag{Name: "motd", Usage: "initial message of the day", EnvVars: env("MOTD")},
		&cli.StringFlag{Name: "tls-cert", Usage: "TLS certificate `FILE` (serve wss://)", EnvVars: env("TLS_CERT")},
		&cli.StringFlag{Name: "tls-key", Usage: "TLS key `FILE`", EnvVars: env("TLS_KEY")},
	}
}

func nodeCommand() *cli.Command {
	return &cli.Command{
		Name:  "node",
		Usage: "run a node: agents connect to it over websockets",
		Flags: nodeFlags(),
		Action: func(c *cli.Context) error {
			log, err := newLogger(c)
			if err != nil {
				return err
			}
			dd, err := node.OpenDataDir(c.Context, c.String("data-dir"))
			if err != nil {
				return err
			}
			defer dd.Close() // last: after the server has stopped
			cfg := nodeConfig(c)
			cfg.Key, cfg.Store, cfg.Logger = dd.Key, dd.Store, log
			srv, err := node.New(cfg)
			if err != nil {
				return err
			}
			if err := srv.Listen(); err != nil {
				return err
			}
			scheme := "ws"
			if cfg.TLSCert != "" {
				scheme = "wss"
			}
			log.Info("node starting", "url", fmt.Sprintf("%s://%s", scheme, srv.Addr()),
				"node_id", hex.EncodeToString(dd.Key.Public().(ed25519.PublicKey)), "data_dir", dd.Path)
			return srv.Run(c.Context)
		},
	}
}

// nodeConfig maps the flags onto node.Config.
func nodeConfig(c *cli.Context) node.Config {
	cfg := node.DefaultConfig()
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
	cfg.AdminKey = c.String("admin-key")
	cfg.Allowlist = c.Bool("allowlist") || c.Bool("allowlist-strict")
	cfg.AllowlistStrict = c.Bool("allowlist-strict")
	cfg.PrivateChannels = !c.Bool("no-private-channels")
	cfg.Notices = !c.Bool("no-notices")
	cfg.Motd = c.String("motd")
	cfg.TLSCert, cfg.TLSKey = c.String("tls-cert"), c.String("tls-key")
	return cfg
}

// splitList splits a comma or space separated list, dropping empties.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
