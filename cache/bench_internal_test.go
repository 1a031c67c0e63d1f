package cache

import (
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkStoreShards measures the default store's Get from every core,
// with one go-cache (one RWMutex) against the sharded default, on 1,024
// distinct keys; run with -cpu 1,2 (or more) to see whether the single
// RWMutex limits scaling.
func BenchmarkStoreShards(b *testing.B) {
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = sha256.Sum256(fmt.Appendf(nil, "token-%d", i))
	}
	for _, shards := range []int{1, storeShards} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			s := newMemoryStore(shards)
			for _, k := range keys {
				s.Set(k, &Entry{Expires: time.Now().Add(time.Hour)}, time.Hour)
			}
			var worker atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(worker.Add(1)) * 7919
				for pb.Next() {
					if _, ok := s.Get(keys[i%len(keys)]); !ok {
						b.Error("miss")
						return
					}
					i++
				}
			})
		})
	}
}
