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
//
// The reader never waits for a write: a write to a peer that does not read
// may block for as long as the peer lets it, and meanwhile the reader still
// reads (and sees the connection end). A write that failed ends the reads
// too, so that the broker drops the client.

// A connection that carries many reports (a fleet identity's, a gateway's)
// also reads them in bigger pieces: when a read fills mochi's small read
// buffer, more is surely waiting, and the connection reads into a chunk of
// readChunk bytes; it keeps the chunk while the chunk's reads come back
// full. A chunk holds some fifty reports, whose acknowledgements then leave
// in one write. The chunk goes back to a shared pool before a read that is
// likely to wait, so a quiet connection holds none.

// readChunk is the read size of a busy connection.
const readChunk = 32 << 10

// chunks recycles the read chunks of connections that have calmed down.
var chunks = sync.Pool{New: func() any {
	b := make([]byte, readChunk)
	return &b
}}

// coalesceDelay is the longest a write waits for its connection's reader.
const coalesceDelay = 2 * time.Millisecond

// maxPending is how much a connection holds back before writing anyway;
// a larger write goes out at once.
const maxPending = 16 << 10

// maxKeptPending is the largest pending buffer a connection keeps for
// reuse after a flush: acknowledgements take a few bytes each.
const maxKeptPending = 4 << 10

// closeFlushTimeout bounds the wait to send what is pending at Close, and
// for a write stuck on a peer that no longer reads.
const closeFlushTimeout = time.Second

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
	return &coalescingConn{Conn: c}, nil
}

// coalescingConn is a net.Conn whose writes wait while its reader is busy.
// One goroutine reads; any number may write. Socket writes happen under
// wmu, in order; the state is under mu, which is never held across a
// system call. Lock order: wmu, then mu.
type coalescingConn struct {
	net.Conn

	wmu sync.Mutex // held while writing to the socket

	mu      sync.Mutex
	busy    bool   // the reader is handling what its last read returned
	pending []byte // written while busy, not yet sent
	spare   []byte // an empty buffer to hold the next pending bytes, or nil
	armed   bool   // the flush timer is set
	timer   *time.Timer
	err     error // the first failed socket write; later writes and reads return it
	closed  bool

	// Only the reader uses these.
	chunk     *[]byte // the read chunk of a busy connection, or nil
	unread    []byte  // the part of chunk not yet returned by Read
	chunkFull bool    // the last read into chunk filled it
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
	err, flush := c.err, len(c.pending) > 0
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	// A socket write in progress (a slow peer) keeps the pending bytes for
	// the writer after it, or the timer, which is armed: the reader does
	// not wait for it.
	if flush && c.wmu.TryLock() {
		c.flushHeld()
		c.wmu.Unlock()
	}
	if c.chunk != nil && !c.chunkFull {
		chunks.Put(c.chunk) // the flow has slowed: the next read may wait
		c.chunk = nil
	}
	var n int
	if c.chunk != nil {
		var m int
		m, err = c.Conn.Read(*c.chunk)
		n = copy(p, (*c.chunk)[:m])
		c.unread, c.chunkFull = (*c.chunk)[n:m], m == len(*c.chunk)
	} else {
		n, err = c.Conn.Read(p)
		if n == len(p) && n < readChunk {
			c.chunk, c.chunkFull = chunks.Get().(*[]byte), true
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
// a write held back is returned by a later Write or Read.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.err != nil {
		defer c.mu.Unlock()
		return 0, c.err
	}
	if c.busy && !c.closed && len(c.pending)+len(p) < maxPending {
		if c.pending == nil {
			c.pending, c.spare = c.spare, nil
		}
		c.pending = append(c.pending, p...)
		c.arm()
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.flushHeld(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.fail(err)
	}
	return n, err
}

// arm sets the flush timer if it is not set. c.mu must be held.
func (c *coalescingConn) arm() {
	if c.armed {
		return
	}
	c.armed = true
	if c.timer == nil {
		c.timer = time.AfterFunc(coalesceDelay, c.timeout) // made on first use: most devices never need it
	} else {
		c.timer.Reset(coalesceDelay)
	}
}

// timeout sends what a busy reader has left pending too long.
func (c *coalescingConn) timeout() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	c.armed = false
	c.mu.Unlock()
	c.flushHeld()
}

// Close sends what is pending, waiting at most closeFlushTimeout (also for
// a write in progress to a peer that no longer reads), then closes the
// connection.
func (c *coalescingConn) Close() error {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	c.wmu.Lock()
	c.flushHeld()
	c.mu.Lock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.wmu.Unlock()
	return c.Conn.Close()
}

// flushHeld writes what is pending and returns the connection's write
// error, if any. c.wmu must be held, c.mu not.
func (c *coalescingConn) flushHeld() error {
	c.mu.Lock()
	out, err := c.pending, c.err
	if err != nil || len(out) == 0 {
		c.mu.Unlock()
		return err
	}
	c.pending = nil
	c.mu.Unlock()
	_, err = c.Conn.Write(out)
	if err != nil {
		c.fail(err)
		return err
	}
	if cap(out) <= maxKeptPending {
		c.mu.Lock()
		if c.spare == nil {
			c.spare = out[:0]
		}
		c.mu.Unlock()
	}
	return nil
}

// fail records the first failed socket write; what is pending is dropped,
// since the stream is broken.
func (c *coalescingConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.pending, c.spare = nil, nil
	c.mu.Unlock()
}
