package bridge

import (
	"sync"

	"github.com/agentchat/mesh/node"
)

// outbox is an unbounded FIFO of local events. The node pushes from many
// goroutines; one goroutine publishes, so an origin's messages leave in the
// order the node produced them and the node never blocks on the mesh.
type outbox struct {
	mu     sync.Mutex
	events []node.Event
	ready  chan struct{} // signalled (cap 1) when events were added
	closed bool
}

func (o *outbox) init() { o.ready = make(chan struct{}, 1) }

func (o *outbox) push(ev node.Event) {
	o.mu.Lock()
	if !o.closed {
		o.events = append(o.events, ev)
	}
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// take waits for events and returns all queued ones; ok is false once the
// outbox is closed and drained.
func (o *outbox) take() ([]node.Event, bool) {
	for {
		o.mu.Lock()
		if len(o.events) > 0 {
			evs := o.events
			o.events = nil
			o.mu.Unlock()
			return evs, true
		}
		closed := o.closed
		o.mu.Unlock()
		if closed {
			return nil, false
		}
		<-o.ready
	}
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default:
	}
}
