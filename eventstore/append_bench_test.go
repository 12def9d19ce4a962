package eventstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/rustok/rustok/eventstore"
	"github.com/rustok/rustok/platform/database/dbtest"
)

// BenchmarkAppend appends one event per command from parallel writers
// (-cpu sets the writer count), each on its own streams.
func BenchmarkAppend(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			s := mustStore(b, dbtest.URL(b, d), eventstore.Options{})
			var writer atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := writer.Add(1)
				for i := 0; pb.Next(); i++ {
					_, err := s.Append(context.Background(), eventstore.Stream{Type: "note", ID: fmt.Sprint(w, "-", i/10)}, int64(i%10), []eventstore.NewEvent{ev("x")})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
