package journal_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/sesinbound/sesinbound/journal"
)

// BenchmarkRecord is what storing one record costs the SMTP path, with
// nobody waiting and with waiters whose filters never match.
func BenchmarkRecord(b *testing.B) {
	for _, waiters := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("waiters=%d", waiters), func(b *testing.B) {
			j := journal.New(0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i := range waiters {
				go j.Wait(ctx, journal.Query{Filter: journal.Filter{To: fmt.Sprintf("w%d@example.invalid", i)}})
			}
			time.Sleep(100 * time.Millisecond) // let them all be waiting
			res := msg("m", "inbox@example.com")
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				res.MessageID = fmt.Sprint(i)
				i++
				j.Record(res)
			}
		})
	}
}

// BenchmarkRecordStreams is Record with N event streams attached, each
// read to the end over loopback HTTP, as the web page reads them. ns/op is
// everything one record costs the process (Record itself, plus the
// streams' encoding and writing on their own goroutines, which compete
// for the same CPUs); allocs/op counts every goroutine's allocations.
// Encoding is shared, so it is paid once per record, not once per stream.
func BenchmarkRecordStreams(b *testing.B) {
	for _, streams := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			j := journal.New(0)
			srv := httptest.NewServer(j.Handler())
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int64, streams)
			for range streams {
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/_sesinbound/events", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					done <- n
				}()
			}
			res := msg("m", "inbox@example.com")
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = fmt.Sprint(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				res.MessageID = ids[i]
				j.Record(res)
			}
			// Wait for every stream to have written the last record.
			for streams > 0 {
				p := j.Read(journal.Query{Limit: 1})
				if len(p.Items) == 1 && p.Items[0].ID == ids[b.N-1] {
					break
				}
			}
			time.Sleep(2 * 10 * time.Millisecond) // the streams' coalescing, twice
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.StopTimer()
			j.Close()
			for range streams {
				<-done
			}
		})
	}
}

// BenchmarkWebhook is what posting one record costs, to a loopback
// receiver that accepts everything (whose own cost is counted too), with
// the default client and with one of the caller's.
func BenchmarkWebhook(b *testing.B) {
	for _, via := range []string{"default", "client"} {
		b.Run(via, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			j := journal.New(b.N + 1)
			h := &journal.Webhook{URL: srv.URL, After: &journal.Cursor{}, Queue: b.N + 1}
			if via == "client" {
				h.Client = &http.Client{Timeout: 10 * time.Second}
			}
			res := msg("m", "inbox@example.com")
			for i := range b.N {
				res.MessageID = fmt.Sprint(i)
				j.Record(res)
			}
			j.Read(journal.Query{}) // encoded before the clock starts
			b.ReportAllocs()
			b.ResetTimer()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cpu0 := cpuTime()
			go h.Run(ctx, j)
			for h.Status().Posted < b.N {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU the process has used, every goroutine's: on a
// loaded machine, what a benchmark costs the others, where ns/op is only
// how long it waited.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
