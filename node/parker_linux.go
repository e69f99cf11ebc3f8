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

	mu    sync.Mutex
	socks map[int32]*conn // by descriptor
}

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
// registers it; later ones re-arm the registration.
func (p *epollParker) arm(c *conn) error {
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
		c.parkTag.Store(ev.Pad)
		c.parkFD = fd
		p.mu.Lock()
		p.socks[fd] = c
		p.mu.Unlock()
		if err = unix.EpollCtl(p.fd, unix.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
			p.drop(c)
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
	p.drop(c)
}

func (p *epollParker) drop(c *conn) {
	p.mu.Lock()
	if p.socks[c.parkFD] == c {
		delete(p.socks, c.parkFD)
	}
	p.mu.Unlock()
	c.parkTag.Store(0)
}

func (p *epollParker) close() error { return p.epfd.Close() }
