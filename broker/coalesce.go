package broker

import (
	"net"
	"sync"
	"time"
)

// A client that publishes at QoS 1 is owed one PUBACK per message. Written
// as it is made, each one costs a write system call on the broker and a
// TCP segment and a read on the client: at tens of thousands of reports a
// second that is a tenth of the broker's work. A coalescingConn defers what
// is written to a connection while its reader is still handling the bytes
// its last read returned, and sends all of it at once when the reader comes
// back for more. The acknowledgements of the packets that arrived together
// leave together.
//
// Nothing waits on a quiet connection: a write while the reader waits in
// Read goes out at once, as does everything pending when the reader comes
// back, and a timer sends what is pending after coalesceDelay should the
// reader stay busy (a slow hook, back-pressure from the detector).

// A connection that carries many reports (a fleet identity's, a gateway's)
// also reads them in bigger pieces: when a read fills mochi's small read
// buffer, more is surely waiting, and the connection reads into a chunk of
// readChunk bytes from then on, until a read comes back short. A chunk
// holds some fifty reports, whose acknowledgements then leave in one write;
// a quiet connection keeps no chunk.

// readChunk is the read size of a busy connection.
const readChunk = 32 << 10

// chunks recycles the read chunks of connections that have calmed down.
var chunks = sync.Pool{New: func() any {
	b := make([]byte, readChunk)
	return &b
}}

// coalesceDelay is the longest a write waits for its connection's reader.
const coalesceDelay = 2 * time.Millisecond

// maxPending is how much a connection holds back before writing anyway.
const maxPending = 16 << 10

// maxKeptPending is the largest pending buffer kept for reuse after a flush.
const maxKeptPending = 64 << 10

// coalescingListener wraps the connections of a listener in coalescingConns.
type coalescingListener struct {
	net.Listener
}

// Accept waits for the next connection and wraps it.
func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newCoalescingConn(c), nil
}

// coalescingConn is a net.Conn whose writes wait while its reader is busy.
// One goroutine reads; any number may write.
type coalescingConn struct {
	net.Conn

	mu      sync.Mutex
	busy    bool        // the reader is handling what its last read returned
	pending []byte      // written while busy, not yet sent
	armed   bool        // the flush timer is set
	timer   *time.Timer // nil until a write is first held back
	err     error       // the error of a deferred write, returned by the next Write
	closed  bool

	// Only the reader uses these.
	chunk  *[]byte // the read chunk while the connection is busy, or nil
	unread []byte  // the part of chunk not yet returned by Read
}

func newCoalescingConn(c net.Conn) *coalescingConn {
	return &coalescingConn{Conn: c}
}

// Read sends what is pending, then reads. The reader is busy from the
// moment a read returns data until it reads again.
func (c *coalescingConn) Read(p []byte) (int, error) {
	if len(c.unread) > 0 {
		n := copy(p, c.unread)
		c.unread = c.unread[n:]
		return n, nil
	}
	c.mu.Lock()
	c.busy = false
	c.flushLocked()
	c.mu.Unlock()
	var n int
	var err error
	switch {
	case c.chunk != nil:
		var m int
		m, err = c.Conn.Read(*c.chunk)
		n = copy(p, (*c.chunk)[:m])
		c.unread = (*c.chunk)[n:m]
		if m < len(p) {
			chunks.Put(c.chunk) // all of it was returned: nothing refers to it
			c.chunk, c.unread = nil, nil
		}
	default:
		n, err = c.Conn.Read(p)
		if n == len(p) && n < readChunk {
			c.chunk = chunks.Get().(*[]byte)
		}
	}
	if n > 0 {
		c.mu.Lock()
		c.busy = true
		c.mu.Unlock()
	}
	return n, err
}

// Write sends p, or holds it back while the reader is busy. The error of
// a write held back is returned by a later Write.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.busy || c.closed {
		if c.flushLocked(); c.err != nil {
			return 0, c.err
		}
		return c.Conn.Write(p)
	}
	c.pending = append(c.pending, p...)
	if len(c.pending) >= maxPending {
		c.flushLocked()
		return len(p), nil
	}
	if !c.armed {
		c.armed = true
		if c.timer == nil {
			c.timer = time.AfterFunc(coalesceDelay, c.timeout) // made on first use: most devices never need it
		} else {
			c.timer.Reset(coalesceDelay)
		}
	}
	return len(p), nil
}

// closeFlushTimeout bounds the wait to send what is pending at Close, for
// a peer that no longer reads.
const closeFlushTimeout = time.Second

// Close sends what is pending, then closes the connection.
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	if len(c.pending) > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		c.flushLocked()
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// timeout sends what a busy reader has left pending too long.
func (c *coalescingConn) timeout() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	c.flushLocked()
}

// flushLocked writes what is pending, keeping the first error for the next
// Write. c.mu must be held.
func (c *coalescingConn) flushLocked() {
	if len(c.pending) == 0 {
		return
	}
	if c.err == nil {
		_, c.err = c.Conn.Write(c.pending)
	}
	if cap(c.pending) > maxKeptPending {
		c.pending = nil
	} else {
		c.pending = c.pending[:0]
	}
}
