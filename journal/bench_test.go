package journal_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
			b.StopTimer()
			j.Close()
			for range streams {
				<-done
			}
		})
	}
}
