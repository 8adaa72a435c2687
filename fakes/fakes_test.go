package fakes_test

import (
	"encoding/xml"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
)

// The fakes and the SDK clients are interchangeable wherever sesinbound
// takes one.
var (
	_ encrypt.KMS         = (*kms.Client)(nil)
	_ encrypt.KMS         = (*fakes.KMS)(nil)
	_ encrypt.Decrypter   = (*fakes.KMS)(nil)
	_ receipt.ObjectStore = (*s3.Client)(nil)
	_ receipt.ObjectStore = (*fakes.S3)(nil)
	_ backend.BucketAPI   = (*fakes.S3)(nil)
	_ backend.KeyAPI      = (*fakes.KMS)(nil)
)

func testConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
}

// serve runs the fakes behind a real HTTP server and returns SDK clients
// pointed at it.
func serve(t *testing.T, s *fakes.S3, k *fakes.KMS) (*s3.Client, *kms.Client, string) {
	t.Helper()
	srv := httptest.NewServer(fakes.Handler(s, k))
	t.Cleanup(srv.Close)
	s3c := s3.NewFromConfig(testConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.UsePathStyle = true
	})
	kmsc := kms.NewFromConfig(testConfig(), func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return s3c, kmsc, srv.URL
}

// TestRequestIDsFromRand: request and upload IDs come from the injected
// readers, so a fixed one gives the same IDs every time.
func TestRequestIDsFromRand(t *testing.T) {
	ids := func() (s3ID, s3Host, uploadID, kmsID string) {
		s, err := fakes.NewS3(fakes.WithBuckets("bkt"), fakes.WithS3Rand(mathrand.NewChaCha8([32]byte{9})))
		if err != nil {
			t.Fatal(err)
		}
		k, err := fakes.NewKMS(fakes.WithKMSRand(mathrand.NewChaCha8([32]byte{9})))
		if err != nil {
			t.Fatal(err)
		}
		h := fakes.Handler(s, k)
		list := httptest.NewRecorder()
		h.ServeHTTP(list, httptest.NewRequest(http.MethodGet, "/", nil))
		up := httptest.NewRecorder()
		h.ServeHTTP(up, httptest.NewRequest(http.MethodPost, "/bkt/k?uploads", nil))
		var res struct {
			UploadID string `xml:"UploadId"`
		}
		xml.Unmarshal(up.Body.Bytes(), &res)
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
		keys := httptest.NewRecorder()
		h.ServeHTTP(keys, req)
		return list.Header().Get("x-amz-request-id"), list.Header().Get("x-amz-id-2"), res.UploadID, keys.Header().Get("X-Amzn-RequestId")
	}
	a1, b1, c1, d1 := ids()
	a2, b2, c2, d2 := ids()
	if a1 == "" || len(a1) != 16 || len(b1) != 52 || c1 == "" || d1 == "" {
		t.Fatalf("ids = %q %q %q %q", a1, b1, c1, d1)
	}
	if a1 != a2 || b1 != b2 || c1 != c2 || d1 != d2 {
		t.Fatalf("ids differ with the same Rand: %q %q %q %q, then %q %q %q %q", a1, b1, c1, d1, a2, b2, c2, d2)
	}
}
