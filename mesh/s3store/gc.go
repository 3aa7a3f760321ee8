package s3store

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// collect deletes the chunks under the prefix that keep does not list and that were last written
// more than the grace period ago. Each candidate is checked again (HEAD) just before it is deleted, so
// a chunk that a running build uploaded again after the listing is kept. Objects under chunks/ whose
// names are not content addresses are left alone. It returns how many chunks it deleted.
func (s *Store) collect(ctx context.Context, keep map[string]bool) (int, error) {
	prefix := s.chunkPrefix()
	cutoff := time.Now().Add(-s.grace)
	var victims []string
	listCtx, cancel := context.WithCancel(ctx)
	objects := s.client.ListObjects(listCtx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
	var listErr error
	for obj := range objects {
		if obj.Err != nil {
			listErr = s.opError("LIST", prefix, obj.Err)
			cancel()
			for range objects { // the listing goroutine ends before collect returns
			}
			break
		}
		sum := strings.TrimPrefix(obj.Key, prefix)
		if !validSHA(sum) || keep[sum] || !obj.LastModified.Before(cutoff) {
			continue
		}
		victims = append(victims, obj.Key)
	}
	cancel()
	if listErr != nil {
		return 0, listErr
	}
	var deleted atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.concurrency)
	for _, key := range victims {
		g.Go(func() error {
			info, err := s.client.StatObject(gctx, s.bucket, key, minio.StatObjectOptions{})
			if err != nil {
				if isNoSuchKey(err) {
					return nil // another collector was first
				}
				return s.opError("HEAD", key, err)
			}
			if !info.LastModified.Before(cutoff) {
				return nil // rewritten since the listing: in use
			}
			if err := s.client.RemoveObject(gctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
				return s.opError("DELETE", key, err)
			}
			deleted.Add(1)
			return nil
		})
	}
	err := g.Wait()
	return int(deleted.Load()), err
}
