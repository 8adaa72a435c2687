package backend_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
)

const rules = `
AccountId: "111122223333"
Rules:
  - Name: a
    Enabled: true
    Actions:
      - S3Action: {BucketName: bucket-one, KmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/8d3f5e1c-2b9a-4c77-9a51-3c6f1e2d4b70"}
      - S3Action: {BucketName: bucket-two, KmsKeyArn: "arn:aws:kms:us-east-1:111122223333:alias/inbound"}
  - Name: b
    Actions:
      - S3Action: {BucketName: bucket-one}
`

func TestBootstrap(t *testing.T) {
	rs, err := receipt.ParseRules(strings.NewReader(rules), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := fakes.NewS3()
	k, _ := fakes.NewKMS(fakes.WithKMSAccount("us-east-1", "111122223333"))

	_, err = backend.Bootstrap(t.Context(), s, k, rs, false)
	if !errors.Is(err, backend.ErrMissing) {
		t.Fatalf("Bootstrap(create=false) = %v, want ErrMissing", err)
	}
	for _, want := range []string{"bucket bucket-one", "bucket bucket-two", "kms key arn:aws:kms:us-east-1:111122223333:key/8d3f5e1c", "kms key arn:aws:kms:us-east-1:111122223333:alias/inbound"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	created, err := backend.Bootstrap(t.Context(), s, k, rs, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 4 {
		t.Errorf("created %v, want 2 buckets and 2 keys", created)
	}
	for _, b := range []string{"bucket-one", "bucket-two"} {
		if _, err := s.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Errorf("bucket %s: %v", b, err)
		}
	}
	for _, id := range []string{"8d3f5e1c-2b9a-4c77-9a51-3c6f1e2d4b70", "alias/inbound"} {
		if _, err := k.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Errorf("key %s: %v", id, err)
		}
	}
	again, err := backend.Bootstrap(t.Context(), s, k, rs, false)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Bootstrap = %v, %v; want nothing to do", again, err)
	}
}
