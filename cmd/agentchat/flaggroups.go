package main

import "github.com/urfave/cli/v2"

// flagCategories groups the node's flags in --help. A flag missing here
// is listed under "Other", so a new flag is never hidden.
var flagCategories = map[string]string{
	"config": "Node", "data-dir": "Node", "name": "Node", "motd": "Node",

	"listen": "Websocket listener", "tls-cert": "Websocket listener", "tls-key": "Websocket listener",
	"trust-proxy": "Websocket listener", "max-conns-per-ip": "Websocket listener",

	"channels": "Channels and messages", "buffer-size": "Channels and messages",
	"max-content": "Channels and messages", "max-frame": "Channels and messages",
	"no-private-channels": "Channels and messages", "no-notices": "Channels and messages",
	"presence-limit": "Channels and messages",

	"no-rate-limits": "Flow control", "send-queue": "Flow control", "write-delay": "Flow control",
	"park-after": "Flow control",

	"admin-key": "Access", "allowlist": "Access", "allowlist-strict": "Access", "honor-bans-from": "Access",

	"p2p-listen": "Mesh (libp2p)", "peer": "Mesh (libp2p)", "mdns": "Mesh (libp2p)", "dht": "Mesh (libp2p)",
	"conn-low": "Mesh (libp2p)", "conn-high": "Mesh (libp2p)", "p2p-max-conns": "Mesh (libp2p)",
	"local": "Mesh (libp2p)", "p2p-private-addrs": "Mesh (libp2p)",

	"min-proposal-age": "Marketplace", "webhook": "Marketplace",

	"court-reveal": "Agentcourt", "court-response": "Agentcourt", "court-evidence": "Agentcourt",
	"court-vote": "Agentcourt", "court-min-rating": "Agentcourt", "court-min-transactions": "Agentcourt",

	"pprof": "Observability", "metrics-listen": "Observability",
}

// categorized sets each flag's help category from flagCategories.
func categorized(flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		cat, ok := flagCategories[f.Names()[0]]
		if !ok {
			cat = "Other"
		}
		switch f := f.(type) {
		case *cli.StringFlag:
			f.Category = cat
		case *cli.StringSliceFlag:
			f.Category = cat
		case *cli.BoolFlag:
			f.Category = cat
		case *cli.IntFlag:
			f.Category = cat
		case *cli.Int64Flag:
			f.Category = cat
		case *cli.DurationFlag:
			f.Category = cat
		}
	}
	return flags
}
