package main

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// message returns a mail of about size bytes: a few headers and a body of
// 78-character lines, ending in CRLF. No line starts with a dot, so it goes
// on the wire as it is.
func message(size int) []byte {
	head := "From: bench <sender@example.org>\r\nTo: inbox@example.com\r\nSubject: benchmark\r\n" +
		"Date: Mon, 23 Nov 2026 08:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\n\r\n"
	b := make([]byte, 0, size+80)
	b = append(b, head...)
	line := strings.Repeat("x", 78) + "\r\n"
	for len(b)+len(line) <= size {
		b = append(b, line...)
	}
	if len(b) < size { // the last, shorter line
		b = append(b, strings.Repeat("y", max(0, size-len(b)-2))...)
		b = append(b, "\r\n"...)
	}
	return b
}

// loadResult is what one run of the load generator saw.
type loadResult struct {
	OK, Failed int
	Bytes      int64
	Elapsed    time.Duration
	Latencies  []time.Duration // end of DATA to the reply, for each 250
	FirstErr   string
}

func (r loadResult) MsgsPerSec() float64 { return float64(r.OK) / r.Elapsed.Seconds() }
func (r loadResult) MBPerSec() float64   { return float64(r.Bytes) / r.Elapsed.Seconds() / 1e6 }

// drive sends n copies of msg to addr over c persistent connections, each
// an ordinary SMTP transaction (MAIL, RCPT, DATA, no pipelining), and times
// each from the end of the message (the final ".") to the reply. The clock
// starts once every connection has been greeted.
func drive(addr string, msg []byte, n, c int) loadResult {
	var (
		next    atomic.Int64
		mu      sync.Mutex
		res     loadResult
		ready   sync.WaitGroup
		done    sync.WaitGroup
		startCh = make(chan struct{})
	)
	fail := func(err error) {
		mu.Lock()
		res.Failed++
		if res.FirstErr == "" {
			res.FirstErr = err.Error()
		}
		mu.Unlock()
	}
	for range c {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			cl, err := dialSMTP(addr)
			ready.Done()
			<-startCh
			var lats []time.Duration
			var bytes int64
			defer func() {
				mu.Lock()
				res.OK += len(lats)
				res.Bytes += bytes
				res.Latencies = append(res.Latencies, lats...)
				mu.Unlock()
				if cl != nil {
					cl.close()
				}
			}()
			for next.Add(1) <= int64(n) {
				if cl == nil {
					if cl, err = dialSMTP(addr); err != nil {
						fail(err)
						time.Sleep(10 * time.Millisecond)
						continue
					}
				}
				lat, err := cl.send(msg)
				if err != nil {
					fail(err)
					cl.close()
					cl = nil
					continue
				}
				lats = append(lats, lat)
				bytes += int64(len(msg))
			}
		}()
	}
	ready.Wait()
	start := time.Now()
	close(startCh)
	done.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	return res
}

// percentile returns the p-th percentile (0 to 100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// smtpClient is a minimal SMTP client: cheap enough that on a 2-core
// machine the load generator takes as little CPU from the server as it can.
type smtpClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialSMTP(addr string) (*smtpClient, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &smtpClient{conn: conn, r: bufio.NewReaderSize(conn, 4096)}
	if err := c.expect(220); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := c.cmd("EHLO bench.example.org\r\n", 250); err != nil {
		conn.Close()
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	return c, nil
}

func (c *smtpClient) close() {
	c.conn.SetDeadline(time.Now().Add(time.Second))
	c.conn.Write([]byte("QUIT\r\n"))
	c.conn.Close()
}

// send runs one transaction and returns the time from the end of the
// message to the final reply.
func (c *smtpClient) send(msg []byte) (time.Duration, error) {
	c.conn.SetDeadline(time.Now().Add(5 * time.Minute))
	if err := c.cmd("MAIL FROM:<sender@example.org>\r\n", 250); err != nil {
		return 0, fmt.Errorf("MAIL: %w", err)
	}
	if err := c.cmd("RCPT TO:<inbox@example.com>\r\n", 250); err != nil {
		return 0, fmt.Errorf("RCPT: %w", err)
	}
	if err := c.cmd("DATA\r\n", 354); err != nil {
		return 0, fmt.Errorf("DATA: %w", err)
	}
	if _, err := c.conn.Write(msg); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := c.cmd(".\r\n", 250); err != nil {
		return 0, fmt.Errorf("end of DATA: %w", err)
	}
	return time.Since(start), nil
}

func (c *smtpClient) cmd(line string, want int) error {
	if _, err := c.conn.Write([]byte(line)); err != nil {
		return err
	}
	return c.expect(want)
}

// expect reads a reply, multi-line or not, and checks its code.
func (c *smtpClient) expect(want int) error {
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if len(line) < 4 {
			return fmt.Errorf("short reply %q", line)
		}
		if line[3] == '-' {
			continue
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code != want {
			return fmt.Errorf("reply %q, want %d", strings.TrimSpace(line), want)
		}
		return nil
	}
}
