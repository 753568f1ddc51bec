package broker

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// connPair returns a coalescing server side and a plain client side of a
// loopback TCP connection.
func connPair(t *testing.T) (*coalescingConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := coalescingListener{ln}.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server := (<-accepted).(*coalescingConn)
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// readN reads exactly n bytes from c, failing the test after a long wait.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return buf
}

// makeBusy has the server read one byte the client sent: its reader is
// then busy.
func makeBusy(t *testing.T, server *coalescingConn, client net.Conn) {
	t.Helper()
	if _, err := client.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
}

func pendingLen(c *coalescingConn) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

func TestCoalescingWriteWhileIdleGoesOut(t *testing.T) {
	server, client := connPair(t)
	if _, err := server.Write([]byte("ack1")); err != nil {
		t.Fatal(err)
	}
	if n := pendingLen(server); n != 0 {
		t.Fatalf("%d bytes held back with no read in progress", n)
	}
	if got := readN(t, client, 4); string(got) != "ack1" {
		t.Fatalf("client read %q", got)
	}
}

func TestCoalescingWritesWaitForTheNextRead(t *testing.T) {
	server, client := connPair(t)
	makeBusy(t, server, client)
	for _, s := range []string{"ack1", "ack2", "ack3"} {
		if n, err := server.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("write %q: %d, %v", s, n, err)
		}
	}
	if n := pendingLen(server); n != 12 {
		t.Fatalf("%d bytes pending while the reader is busy, want 12", n)
	}
	// The reader comes back for more: what is pending leaves first, in one
	// piece and in order.
	go server.Read(make([]byte, 1))
	if got := readN(t, client, 12); string(got) != "ack1ack2ack3" {
		t.Fatalf("client read %q", got)
	}
}

func TestCoalescingTimerSendsWhatABusyReaderHolds(t *testing.T) {
	server, client := connPair(t)
	makeBusy(t, server, client)
	if _, err := server.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	// No further read: the timer sends it.
	if got := readN(t, client, 4); string(got) != "late" {
		t.Fatalf("client read %q", got)
	}
}

func TestCoalescingLimitSendsAtOnce(t *testing.T) {
	server, client := connPair(t)
	makeBusy(t, server, client)
	big := bytes.Repeat([]byte("x"), maxPending)
	if _, err := server.Write(big); err != nil {
		t.Fatal(err)
	}
	if n := pendingLen(server); n != 0 {
		t.Fatalf("%d bytes still pending over the limit", n)
	}
	if got := readN(t, client, len(big)); !bytes.Equal(got, big) {
		t.Fatal("client read other bytes")
	}
}

func TestCoalescingCloseSendsPending(t *testing.T) {
	server, client := connPair(t)
	makeBusy(t, server, client)
	if _, err := server.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, client, 3); string(got) != "bye" {
		t.Fatalf("client read %q", got)
	}
}

func TestCoalescingDeferredErrorReturnedByNextWrite(t *testing.T) {
	server, client := connPair(t)
	makeBusy(t, server, client)
	server.Conn.Close() // the connection fails under the coalescing layer
	if _, err := server.Write([]byte("lost")); err != nil {
		t.Fatalf("a held-back write failed at once: %v", err)
	}
	server.wmu.Lock()
	server.flushHeld()
	server.wmu.Unlock()
	if _, err := server.Write([]byte("next")); err == nil {
		t.Fatal("the write after a failed flush succeeded")
	}
	if _, err := server.Read(make([]byte, 8)); err == nil {
		t.Fatal("the read after a failed flush succeeded: the broker would keep a client it cannot answer")
	}
}

// stuckWriter fills the socket towards a client that does not read, until
// a write blocks; it returns when the write fails.
func stuckWriter(server *coalescingConn) <-chan error {
	done := make(chan error, 1)
	go func() {
		big := make([]byte, 1<<20)
		for {
			if _, err := server.Write(big); err != nil {
				done <- err
				return
			}
		}
	}()
	return done
}

func TestCoalescingReaderNotHeldByAStuckWrite(t *testing.T) {
	server, client := connPair(t)
	done := stuckWriter(server)
	time.Sleep(50 * time.Millisecond) // let the writer fill the socket buffers and block
	client.(*net.TCPConn).CloseWrite()
	read := make(chan error, 1)
	go func() {
		_, err := server.Read(make([]byte, 16))
		read <- err
	}()
	select {
	case err := <-read:
		if err != io.EOF {
			t.Fatalf("read: %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader waited for a write to a peer that does not read")
	}
	server.Close()
	<-done
}

func TestCoalescingCloseEndsAStuckWrite(t *testing.T) {
	server, _ := connPair(t)
	done := stuckWriter(server)
	time.Sleep(50 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- server.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a write to a peer that does not read")
	}
	if err := <-done; err == nil {
		t.Fatal("the stuck write succeeded")
	}
}

func TestCoalescingIdleConnectionHoldsNoChunk(t *testing.T) {
	server, client := connPair(t)
	burst := bytes.Repeat([]byte("r"), 6<<10) // one report larger than mochi's buffer
	if _, err := client.Write(burst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	for got := 0; got < len(burst); {
		n, err := server.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	// The connection goes quiet; its next read must not wait holding a chunk.
	go client.Write([]byte("x"))
	if n, err := server.Read(buf); err != nil || n != 1 {
		t.Fatalf("read %d, %v", n, err)
	}
	if server.chunk != nil {
		t.Error("a connection read a quiet socket into its 32 KiB chunk")
	}
}

func TestCoalescingBusyConnectionReadsInChunks(t *testing.T) {
	server, client := connPair(t)
	sent := make([]byte, 3*readChunk)
	for i := range sent {
		sent[i] = byte(i * 7)
	}
	go client.Write(sent)
	var got []byte
	buf := make([]byte, 2048) // mochi's read buffer
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	sawChunk := false
	for len(got) < len(sent) {
		n, err := server.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
		sawChunk = sawChunk || server.chunk != nil
	}
	if !bytes.Equal(got, sent) {
		t.Fatal("the bytes read differ from those sent")
	}
	if !sawChunk {
		t.Error("a connection that filled every read never read in chunks")
	}
	// The flow stops: the next read comes back short and the chunk goes.
	go client.Write([]byte("end"))
	n, err := server.Read(buf)
	for err == nil && n < 3 && server.chunk != nil {
		var m int
		m, err = server.Read(buf[n:])
		n += m
	}
	if err != nil || string(buf[:n]) != "end" {
		t.Fatalf("last read %q, %v", buf[:n], err)
	}
	if server.chunk != nil {
		t.Error("a connection whose last read came back short keeps its chunk")
	}
}
