package smtpd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
)

// BenchmarkSession is a whole SMTP transaction over loopback, 8 connections
// at once, into the real pipeline with the built-in rule and the embedded
// S3 and KMS, in memory or on disk: the profile behind BENCHMARKS.md's note
// on where the time goes.
//
//	go test ./smtpd -run '^$' -bench Session/memory -cpuprofile cpu.out
//	go tool pprof -top smtpd.test cpu.out
func BenchmarkSession(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchmarkSession(b) })
	b.Run("data-dir", func(b *testing.B) { benchmarkSession(b, fakes.WithS3DataDir(b.TempDir())) })
}

func benchmarkSession(b *testing.B, opts ...fakes.S3Option) {
	s, err := fakes.NewS3(append(opts, fakes.WithBuckets("ses-inbound"))...)
	if err != nil {
		b.Fatal(err)
	}
	k, err := fakes.NewKMS()
	if err != nil {
		b.Fatal(err)
	}
	p := receipt.NewProcessor(receipt.DefaultRules(), &encrypt.Sealer{KMS: k}, s)
	srv := NewServer(context.Background(), p, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	msg := "From: bench <sender@example.org>\r\nTo: inbox@example.com\r\nSubject: benchmark\r\n\r\n" +
		strings.Repeat(strings.Repeat("x", 78)+"\r\n", 125) + ".\r\n" // about 10 KB
	const conns = 8
	work := make(chan struct{}, conns)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		expect := func(code string) error {
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return err
				}
				if !strings.HasPrefix(line, code) {
					return fmt.Errorf("got %q, want %s", line, code)
				}
				if len(line) < 4 || line[3] != '-' {
					return nil
				}
			}
		}
		if err := expect("220"); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(c, "EHLO bench.example.org\r\n")
		if err := expect("250"); err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer func() {
				for range work { // after a failure, let the loop below finish
				}
			}()
			for range work {
				for _, step := range []struct{ send, want string }{
					{"MAIL FROM:<sender@example.org>\r\n", "250"},
					{"RCPT TO:<inbox@example.com>\r\n", "250"},
					{"DATA\r\n", "354"},
					{msg, "250"},
				} {
					if _, err := c.Write([]byte(step.send)); err != nil {
						errs <- err
						return
					}
					if err := expect(step.want); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
