package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ResetResult says what a Reset emptied.
type ResetResult struct {
	Messages bool   `json:"messages"`          // the record was emptied
	Objects  int    `json:"objects"`           // objects deleted from the embedded S3
	Buckets  int    `json:"buckets"`           // buckets emptied (and kept)
	S3       string `json:"s3,omitempty"`      // why S3 was left alone
	Reclaim  string `json:"reclaim,omitempty"` // how the data dir's space was given back
}

// Reset empties the record and, unless onlyMessages, deletes every object
// in the embedded S3. Buckets, keys and the rules stay. An external S3 is
// never touched: it is not ours to empty.
func (e *Emulator) Reset(ctx context.Context, onlyMessages bool) (ResetResult, error) {
	e.Journal.Reset()
	res := ResetResult{Messages: true}
	switch fs := e.Backends.FakeS3; {
	case onlyMessages:
	case fs == nil:
		res.S3 = "external S3 (" + e.Backends.S3Name + "): not emptied"
	default:
		// A store that can empty itself at once, giving its space back.
		switch r := any(fs).(type) {
		case interface{ Reset(context.Context) error }:
			n, err := countObjects(ctx, fs)
			if err != nil {
				return res, err
			}
			if err := r.Reset(ctx); err != nil {
				return res, fmt.Errorf("reset s3: %w", err)
			}
			res.Objects, res.Buckets, res.Reclaim = n.objects, n.buckets, "store reset"
			return res, nil
		case interface{ Reset() error }:
			n, err := countObjects(ctx, fs)
			if err != nil {
				return res, err
			}
			if err := r.Reset(); err != nil {
				return res, fmt.Errorf("reset s3: %w", err)
			}
			res.Objects, res.Buckets, res.Reclaim = n.objects, n.buckets, "store reset"
			return res, nil
		}
		// Otherwise object by object, through the S3 API.
		n, err := deleteAllObjects(ctx, fs)
		res.Objects, res.Buckets = n.objects, n.buckets
		if e.dataDir != "" {
			// The on-disk log keeps a deleted object's bytes until the store
			// can reset itself (fakes.S3 gains Reset); a restart keeps none
			// of the deleted objects either way.
			res.Reclaim = "objects deleted; their space in the data dir is not given back yet"
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

type objectCount struct{ objects, buckets int }

type lister interface {
	ListBuckets(context.Context, *s3.ListBucketsInput, ...func(*s3.Options)) (*s3.ListBucketsOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

type deleter interface {
	lister
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

func eachObject(ctx context.Context, s lister, fn func(bucket, key string) error) (objectCount, error) {
	var n objectCount
	bl, err := s.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return n, fmt.Errorf("reset: list buckets: %w", err)
	}
	for _, b := range bl.Buckets {
		n.buckets++
		var token *string
		for {
			out, err := s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b.Name, ContinuationToken: token})
			if err != nil {
				return n, fmt.Errorf("reset: list %s: %w", aws.ToString(b.Name), err)
			}
			for _, o := range out.Contents {
				if err := fn(aws.ToString(b.Name), aws.ToString(o.Key)); err != nil {
					return n, err
				}
				n.objects++
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			token = out.NextContinuationToken
		}
	}
	return n, nil
}

func countObjects(ctx context.Context, s lister) (objectCount, error) {
	return eachObject(ctx, s, func(string, string) error { return nil })
}

func deleteAllObjects(ctx context.Context, s deleter) (objectCount, error) {
	return eachObject(ctx, s, func(bucket, key string) error {
		if _, err := s.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
			return fmt.Errorf("reset: delete s3://%s/%s: %w", bucket, key, err)
		}
		return nil
	})
}

// resetHandler is POST /_sesinbound/reset[?only=messages].
func (e *Emulator) resetHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			w.WriteHeader(http.StatusMethodNotAllowed)
			fmt.Fprintln(w, `{"error":"POST /_sesinbound/reset empties the record and the embedded S3; ?only=messages the record only"}`)
			return
		}
		only := r.URL.Query().Get("only")
		if only != "" && only != "messages" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "{\"error\":%q}\n", "only="+only+": the only choice is only=messages")
			return
		}
		res, err := e.Reset(r.Context(), only == "messages")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			b, _ := json.Marshal(map[string]any{"error": err.Error(), "done": res})
			w.Write(append(b, '\n'))
			return
		}
		json.NewEncoder(w).Encode(res)
	})
}
