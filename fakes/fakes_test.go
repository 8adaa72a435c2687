package fakes_test

import (
	"net/http/httptest"
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
