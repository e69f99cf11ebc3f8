package transfer

import (
	"context"
	"errors"
	"time"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
)

// rateLimitRetries is how often a refused (RATE_LIMITED) frame is tried.
const rateLimitRetries = 6

// msgRetryDelay is the wait before trying a rate-limited MSG again: the
// node spaces MSG 1 s apart per connection (§9.1).
const msgRetryDelay = 1100 * time.Millisecond

// sendDM sends a control message as a direct message, trying again when
// the node's MSG spacing refuses it: offer and complete (or accept and
// ack) can follow each other within a second.
func sendDM(ctx context.Context, c *client.Client, to, content string) error {
	for attempt := 1; ; attempt++ {
		err := c.Send(ctx, to, content)
		if err == nil || !isRateLimited(err) || attempt == rateLimitRetries {
			return err
		}
		if err := sleep(ctx, msgRetryDelay); err != nil {
			return err
		}
	}
}

func isRateLimited(err error) bool {
	return errors.Is(err, &client.ServerError{Code: protocol.CodeRateLimited})
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
