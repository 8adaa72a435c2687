package backend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sesinbound/sesinbound/receipt"
)

// BucketAPI is the part of S3 that Bootstrap uses.
type BucketAPI interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
}

// KeyAPI is the part of KMS that Bootstrap uses.
type KeyAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	CreateKey(ctx context.Context, in *kms.CreateKeyInput, optFns ...func(*kms.Options)) (*kms.CreateKeyOutput, error)
	CreateAlias(ctx context.Context, in *kms.CreateAliasInput, optFns ...func(*kms.Options)) (*kms.CreateAliasOutput, error)
}

// Resources lists what a rule set needs to exist: buckets and KMS keys (as
// configured: key ARNs or alias ARNs), each once, in rule order.
func Resources(rs *receipt.RuleSet) (buckets, keys []string) {
	for _, r := range rs.Resources() {
		switch r.Kind {
		case receipt.ResourceBucket:
			buckets = append(buckets, r.Name)
		case receipt.ResourceKMSKey:
			keys = append(keys, r.Name)
		}
	}
	return buckets, keys
}

// Bootstrap makes sure every bucket and KMS key the rules name exists. A
// missing bucket is created; a missing key ARN is created with that key ID
// (through the _custom_id_ tag, which the embedded KMS and LocalStack
// honour); a missing alias gets a new key and the alias. With create false
// nothing is created and the error, wrapping ErrMissing, names everything
// that is missing. It returns what it created.
func Bootstrap(ctx context.Context, s3c BucketAPI, kmsc KeyAPI, rs *receipt.RuleSet, create bool) (created []string, err error) {
	buckets, keys := Resources(rs)
	var missing []string
	for _, b := range buckets {
		ok, err := BucketExists(ctx, s3c, b)
		if err != nil {
			return created, err
		}
		switch {
		case ok:
		case !create:
			missing = append(missing, "bucket "+b)
		default:
			if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil && !isCode(err, "BucketAlreadyOwnedByYou") {
				return created, fmt.Errorf("create bucket %s: %s", b, Explain(err))
			}
			created = append(created, "bucket "+b)
		}
	}
	for _, k := range keys {
		ok, err := KeyExists(ctx, kmsc, k)
		if err != nil {
			return created, err
		}
		switch {
		case ok:
		case !create:
			missing = append(missing, "kms key "+k)
		default:
			if err := createKey(ctx, kmsc, k); err != nil {
				return created, err
			}
			created = append(created, "kms key "+k)
		}
	}
	if len(missing) > 0 {
		return created, fmt.Errorf("%w: %s", ErrMissing, strings.Join(missing, ", "))
	}
	return created, nil
}

// BucketExists reports whether a bucket exists; an error means S3 could
// not say.
func BucketExists(ctx context.Context, s3c BucketAPI, bucket string) (bool, error) {
	_, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return true, nil
	}
	if isCode(err, "NotFound", "NoSuchBucket") || httpStatus(err) == http.StatusNotFound {
		return false, nil
	}
	return false, fmt.Errorf("s3 bucket %s: %s", bucket, Explain(err))
}

// KeyExists reports whether the key an ARN names exists; an error means
// KMS could not say.
func KeyExists(ctx context.Context, kmsc KeyAPI, arn string) (bool, error) {
	_, err := kmsc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
	if err == nil {
		return true, nil
	}
	var nf *kmstypes.NotFoundException
	if errors.As(err, &nf) || isCode(err, "NotFoundException") {
		return false, nil
	}
	return false, fmt.Errorf("kms key %s: %s", arn, Explain(err))
}

// createKey creates the key an ARN names: key/<id> through the _custom_id_
// tag, alias/<name> as a new key plus the alias.
func createKey(ctx context.Context, kmsc KeyAPI, arn string) error {
	_, resource, ok := strings.Cut(strings.TrimPrefix(arn, "arn:"), ":key/")
	if ok {
		_, err := kmsc.CreateKey(ctx, &kms.CreateKeyInput{
			Description: aws.String("created by sesinbound for a receipt rule"),
			Tags:        []kmstypes.Tag{{TagKey: aws.String("_custom_id_"), TagValue: aws.String(resource)}},
		})
		if err != nil {
			return fmt.Errorf("create kms key %s: %s", arn, Explain(err))
		}
		// A KMS that ignores the tag (local-kms, real AWS) made a key with
		// another ID; the rule's ARN would still not resolve.
		if ok, err := KeyExists(ctx, kmsc, arn); err != nil || !ok {
			return fmt.Errorf("create kms key %s: this KMS cannot create a key with a chosen ID; create it yourself, or name an alias ARN in the rule", arn)
		}
		return nil
	}
	i := strings.Index(arn, ":alias/")
	if i < 0 {
		return fmt.Errorf("create kms key %s: not a key or alias ARN", arn)
	}
	alias := arn[i+1:]
	out, err := kmsc.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("created by sesinbound for " + alias)})
	if err != nil {
		return fmt.Errorf("create kms key for %s: %s", alias, Explain(err))
	}
	if _, err := kmsc.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: out.KeyMetadata.KeyId}); err != nil {
		return fmt.Errorf("create kms alias %s: %s", alias, Explain(err))
	}
	return nil
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
