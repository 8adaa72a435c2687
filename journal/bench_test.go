package journal_test

import (
	"context"
	"fmt"
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
			for b.Loop() {
				res.MessageID = fmt.Sprint(i)
				i++
				j.Record(res)
			}
		})
	}
}
