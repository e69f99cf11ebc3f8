package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentchat/mesh/testnet"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure cross-node delivery rate and latency on a mesh (JSON summary last)",
		Description: "Without --url, starts an in-process loopback testnet of --nodes nodes with rate limits off.\n" +
			"With --url (repeatable, at least two), measures an existing mesh: the sender uses the first URL.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "url", Usage: "node websocket `URL` (repeatable)"},
			&cli.IntFlag{Name: "nodes", Value: 3, Usage: "nodes of the in-process testnet"},
			&cli.IntFlag{Name: "rate", Value: 1000, Usage: "messages per second offered by the sender"},
			&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "sending window"},
			&cli.IntFlag{Name: "receivers", Value: 1, Usage: "receiving agents per remote node"},
			&cli.StringFlag{Name: "channel", Value: "#general", Usage: "channel to measure"},
			&cli.DurationFlag{Name: "drain", Value: 10 * time.Second, Usage: "longest wait for in-flight messages"},
		},
		Action: func(c *cli.Context) error {
			progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }
			urls := c.StringSlice("url")
			if len(urls) == 0 {
				dir, err := os.MkdirTemp("", "agentchat-bench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				net, err := testnet.Start(c.Context, testnet.Options{Nodes: c.Int("nodes"), Dir: dir, Progress: progress,
					Tune: func(_ int, cfg *testnet.NodeConfig) { cfg.Node.RateLimits = false; cfg.Node.Notices = false }})
				if err != nil {
					return err
				}
				defer net.Close()
				for _, n := range net.Nodes {
					urls = append(urls, n.WS())
				}
			}
			res, err := testnet.Bench(c.Context, testnet.BenchOptions{URLs: urls, Channel: c.String("channel"),
				Rate: c.Int("rate"), Duration: c.Duration("duration"), Receivers: c.Int("receivers"),
				Drain: c.Duration("drain"), Progress: progress})
			if err != nil {
				return err
			}
			progress("delivered %d/%d (lost %d), %.0f deliveries/s, latency p50 %.2f ms p99 %.2f ms max %.2f ms",
				res.Delivered, res.Expected, res.Lost, res.DeliveriesPerS, res.LatencyMS.P50, res.LatencyMS.P99, res.LatencyMS.Max)
			b, _ := json.Marshal(res)
			fmt.Println(string(b))
			return nil
		},
	}
}
