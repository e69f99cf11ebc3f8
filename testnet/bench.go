package testnet

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BenchOptions describes a cross-node delivery measurement: one sender on
// the first URL posts to Channel at Rate messages/s for Duration; Receivers
// agents on every other URL count what arrives and how late.
type BenchOptions struct {
	URLs      []string
	Channel   string
	Rate      int
	Duration  time.Duration
	Receivers int
	// Drain bounds the wait for in-flight messages after sending stops.
	Drain time.Duration
	// Progress, if set, is told what is happening.
	Progress func(format string, args ...any)
}

// BenchResult is the summary; scripts read it as JSON.
type BenchResult struct {
	Nodes           int        `json:"nodes"`
	Receivers       int        `json:"receivers"`
	OfferedRate     int        `json:"offered_rate"`
	Sent            int        `json:"sent"`
	Expected        int        `json:"expected"`
	Delivered       int        `json:"delivered"`
	Lost            int        `json:"lost"`
	Duplicates      int        `json:"duplicates"`
	DeliveriesPerS  float64    `json:"deliveries_per_s"`
	LatencyMS       LatencySet `json:"latency_ms"`
	SendErrors      int        `json:"send_errors"`
	ServerRejection int        `json:"server_rejections"`
}

// LatencySet holds send-to-receive latency percentiles in milliseconds.
type LatencySet struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

const benchTag = "bench|"

// Bench runs the measurement. Send and receive times come from one
// monotonic clock (this process), so latency is exact.
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if len(o.URLs) < 2 {
		return BenchResult{}, fmt.Errorf("bench needs at least two nodes, got %d", len(o.URLs))
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	start := time.Now()
	sender, err := benchAgent(ctx, o.URLs[0], "bench-sender", o.Channel)
	if err != nil {
		return BenchResult{}, err
	}
	defer sender.Close()

	var mu sync.Mutex
	var latencies []time.Duration
	seen := map[string]bool{}
	dups, rejections := 0, 0
	var wg sync.WaitGroup
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var receivers []*Agent
	for i, url := range o.URLs[1:] {
		for j := range o.Receivers {
			a, err := benchAgent(ctx, url, fmt.Sprintf("bench-r%d-%d", i+1, j), o.Channel)
			if err != nil {
				return BenchResult{}, err
			}
			receivers = append(receivers, a)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					f, err := a.Next(rctx, "MSG")
					if err != nil {
						return
					}
					content := f.String("content")
					if !strings.HasPrefix(content, benchTag) {
						continue
					}
					at := time.Since(start)
					parts := strings.Split(content, "|")
					sentAt, _ := strconv.ParseInt(parts[2], 10, 64)
					key := a.ID + "|" + parts[1]
					mu.Lock()
					if seen[key] {
						dups++
					} else {
						seen[key] = true
						latencies = append(latencies, at-time.Duration(sentAt))
					}
					mu.Unlock()
				}
			}()
		}
	}
	defer func() {
		for _, a := range receivers {
			a.Close()
		}
	}()
	progress("%d receivers on %d nodes joined %s; sending %d msg/s for %s", len(receivers), len(o.URLs)-1, o.Channel, o.Rate, o.Duration)
	// Count sender-side rejections (rate limits) so they are not mistaken
	// for mesh loss.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f, err := sender.Next(rctx, "ERROR")
			if err != nil {
				return
			}
			_ = f
			mu.Lock()
			rejections++
			mu.Unlock()
		}
	}()

	// Pace on an absolute schedule: a late tick sends what is due, so the
	// offered rate holds even when a send is slow.
	sent, sendErrs := 0, 0
	begin := time.Now()
	for {
		elapsed := time.Since(begin)
		if elapsed >= o.Duration {
			break
		}
		due := int(elapsed.Seconds() * float64(o.Rate))
		if sent+sendErrs >= due {
			select {
			case <-ctx.Done():
				return BenchResult{}, ctx.Err()
			case <-time.After(time.Millisecond):
			}
			continue
		}
		content := fmt.Sprintf("%s%d|%d|", benchTag, sent, time.Since(start))
		if err := sender.Send(map[string]any{"type": "MSG", "to": o.Channel, "content": content}); err != nil {
			sendErrs++
			continue
		}
		sent++
	}
	mu.Lock()
	acc := sent - rejections
	mu.Unlock()
	expected := acc * len(receivers)
	progress("sent %d; waiting up to %s for deliveries", sent, o.Drain)
	drainEnd := time.Now().Add(o.Drain)
	for time.Now().Before(drainEnd) {
		mu.Lock()
		got := len(latencies)
		acc = sent - rejections
		expected = acc * len(receivers)
		mu.Unlock()
		if got >= expected {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	res := BenchResult{Nodes: len(o.URLs), Receivers: len(receivers), OfferedRate: o.Rate, Sent: sent,
		Expected: expected, Delivered: len(latencies), Lost: max(expected-len(latencies), 0), Duplicates: dups,
		SendErrors: sendErrs, ServerRejection: rejections, LatencyMS: percentiles(latencies)}
	if len(latencies) > 0 {
		res.DeliveriesPerS = float64(len(latencies)) / o.Duration.Seconds()
	}
	return res, nil
}

func benchAgent(ctx context.Context, url, name, channel string) (*Agent, error) {
	a, err := Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := a.Identify(ctx, name, nil); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.Send(map[string]any{"type": "JOIN", "channel": channel}); err != nil {
		a.Close()
		return nil, err
	}
	if f, err := a.Next(ctx, "JOINED", "ERROR"); err != nil || f.Type == "ERROR" {
		a.Close()
		return nil, fmt.Errorf("join %s on %s: %v %s", channel, url, err, f.Raw)
	}
	return a, nil
}

func percentiles(d []time.Duration) LatencySet {
	if len(d) == 0 {
		return LatencySet{}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p * float64(len(d)-1))
		return float64(d[i].Microseconds()) / 1000
	}
	return LatencySet{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: float64(d[len(d)-1].Microseconds()) / 1000}
}
