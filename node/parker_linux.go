package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// epollParker holds parked sockets in an epoll set, one-shot: a socket's
// first readiness starts its reader and disarms it. The epoll descriptor
// is itself registered with the Go runtime's poller, so waiting for
// parked sockets costs one parked goroutine, not a thread.
type epollParker struct {
	epfd *os.File // for the runtime's poller
	fd   int      // the same descriptor, for epoll_ctl (File.Fd would make it blocking)
	log  *slog.Logger
	next atomic.Int32 // registration tags

	mu      sync.Mutex
	socks   map[int32]*conn // by descriptor
	stopped atomic.Bool     // run has returned: arm refuses (set under mu)
}

// errParkerStopped: the parker no longer runs, so sockets stay with
// their readers.
var errParkerStopped = errors.New("parker stopped")

func newParker(log *slog.Logger) (parker, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("epoll descriptor: %w", err)
	}
	return &epollParker{epfd: os.NewFile(uintptr(fd), "epoll"), fd: fd, log: log, socks: make(map[int32]*conn)}, nil
}

// run starts readers for sockets that turn readable until ctx ends.
func (p *epollParker) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { _ = p.epfd.SetReadDeadline(deadlinePast) })
	defer stop()
	defer p.release()
	rc, err := p.epfd.SyscallConn()
	if err != nil {
		p.log.Error("parker stopped", "err", err)
		return
	}
	events := make([]unix.EpollEvent, 256)
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), events, 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				p.log.Error("epoll_wait", "err", err)
				return true
			}
			for _, ev := range events[:n] {
				p.wake(ev.Fd, ev.Pad)
			}
			if n < len(events) {
				return false // drained: wait for the set to turn readable
			}
		}
	})
	if err != nil && ctx.Err() == nil {
		p.log.Error("parker stopped", "err", err)
	}
}

// release wakes every parked socket and refuses new ones: without run,
// nothing would wake them.
func (p *epollParker) release() {
	p.mu.Lock()
	p.stopped.Store(true)
	held := make([]*conn, 0, len(p.socks))
	for _, c := range p.socks {
		held = append(held, c)
	}
	p.mu.Unlock()
	for _, c := range held {
		c.unpark()
	}
}

// wake starts the reader of the socket registered as fd with tag.
func (p *epollParker) wake(fd, tag int32) {
	p.mu.Lock()
	c := p.socks[fd]
	p.mu.Unlock()
	if c != nil && c.parkTag.Load() == tag {
		c.unpark()
	}
}

// arm watches c's socket until it turns readable, once. The first arm
// registers it; later ones re-arm the registration. It runs under mu so
// that release sees every socket armed before it.
func (p *epollParker) arm(c *conn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped.Load() {
		return errParkerStopped
	}
	var err error
	ctlErr := c.cork.raw.Control(func(sfd uintptr) {
		fd := int32(sfd)
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: fd}
		if tag := c.parkTag.Load(); tag != 0 {
			ev.Pad = tag
			err = unix.EpollCtl(p.fd, unix.EPOLL_CTL_MOD, int(fd), &ev)
			return
		}
		ev.Pad = p.next.Add(1)
		if err = unix.EpollCtl(p.fd, unix.EPOLL_CTL_ADD, int(fd), &ev); err == nil {
			c.parkTag.Store(ev.Pad)
			c.parkFD = fd
			p.socks[fd] = c
		}
	})
	if ctlErr != nil {
		return ctlErr
	}
	return err
}

// forget removes c's registration before its socket closes.
func (p *epollParker) forget(c *conn) {
	if c.parkTag.Load() == 0 {
		return
	}
	_ = c.cork.raw.Control(func(sfd uintptr) {
		_ = unix.EpollCtl(p.fd, unix.EPOLL_CTL_DEL, int(sfd), nil)
	})
	p.mu.Lock()
	if p.socks[c.parkFD] == c {
		delete(p.socks, c.parkFD)
	}
	p.mu.Unlock()
	c.parkTag.Store(0)
}

func (p *epollParker) running() bool { return !p.stopped.Load() }

func (p *epollParker) close() error { return p.epfd.Close() }
