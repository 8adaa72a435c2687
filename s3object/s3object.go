// Package s3object reads a stored message back as a user's own decryptor
// would: HeadObject for the metadata, then, for an SES envelope, GetObject
// through the official Go S3 Encryption Client (v4, legacy "kms" wrapping
// enabled, any key, commitment policy REQUIRE_ENCRYPT_ALLOW_DECRYPT, as SES
// mail needs; the client is internal/officialdecrypt's, the one `sesinbound
// decrypt` and sesinboundtest use), else a plain GetObject. The web page's
// decrypted views read through Open, so what they show is what the
// official client gets; Open adds the metadata and explained errors.
//
// It does not parse the message; package web does that for the page.
package s3object

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/amazon-s3-encryption-client-go/v4/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/internal/officialdecrypt"
)

// Object is a stored message opened for reading.
type Object struct {
	// Metadata is the object's user metadata as S3 returns it, without the
	// x-amz-meta- prefix.
	Metadata map[string]string
	// Encrypted says whether the object is an S3 Encryption Client
	// envelope; Body is then the decrypted message.
	Encrypted bool
	// Body is the message; the caller closes it. GCM authenticates at the
	// end, so a tampered object fails at the last Read.
	Body io.ReadCloser
}

// Open reads s3://bucket/key, decrypting an envelope with kmsc.
func Open(ctx context.Context, s3c *s3.Client, kmsc materials.KmsAPIClient, bucket, key string) (*Object, error) {
	where := fmt.Sprintf("s3://%s/%s", bucket, key)
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nf *s3types.NotFound
		if errors.As(err, &nf) {
			if _, berr := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); berr != nil {
				return nil, fmt.Errorf("%s: no such bucket %s", where, bucket)
			}
			return nil, fmt.Errorf("%s: no such object", where)
		}
		return nil, describeS3Error(where, err)
	}
	obj := &Object{Metadata: head.Metadata, Encrypted: encrypt.IsEnvelope(head.Metadata)}
	if !obj.Encrypted {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, describeS3Error(where, err)
		}
		obj.Body = out.Body
		return obj, nil
	}
	ec, err := officialdecrypt.NewClient(s3c, kmsc)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", where, err)
	}
	out, err := ec.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, describeDecryptError(where, err)
	}
	obj.Body = out.Body
	return obj, nil
}

// ReadAll opens s3://bucket/key and reads the whole message.
func ReadAll(ctx context.Context, s3c *s3.Client, kmsc materials.KmsAPIClient, bucket, key string) (*Object, []byte, error) {
	obj, err := Open(ctx, s3c, kmsc, bucket, key)
	if err != nil {
		return nil, nil, err
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("decrypt s3://%s/%s: %w", bucket, key, err)
	}
	return obj, b, nil
}

func describeS3Error(where string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%s: no such object", where)
		case "NoSuchBucket":
			return fmt.Errorf("%s: no such bucket", where)
		}
	}
	return fmt.Errorf("%s: %s", where, backend.Explain(err))
}

func describeDecryptError(where string, err error) error {
	var ae smithy.APIError
	// The S3 Encryption Client formats the KMS error into its own with %v,
	// so the type is lost and only the code in the text remains.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "InvalidCiphertextException"), strings.Contains(msg, "IncorrectKeyException"):
		return fmt.Errorf("%s: KMS refused to decrypt the data key: this KMS does not hold the key that wrapped it, or the encryption context (x-amz-matdesc) does not match (%s)", where, lastLine(msg))
	case strings.Contains(msg, "NotFoundException"):
		return fmt.Errorf("%s: the KMS key that wrapped this object does not exist here (%s)", where, lastLine(msg))
	case strings.Contains(msg, "DisabledException"):
		return fmt.Errorf("%s: the KMS key that wrapped this object is disabled (%s)", where, lastLine(msg))
	case errors.As(err, &ae):
		return fmt.Errorf("%s: %s: %s", where, ae.ErrorCode(), ae.ErrorMessage())
	}
	return describeS3Error(where, err)
}

// lastLine keeps the end of an SDK error chain, the part worth reading.
func lastLine(msg string) string {
	if i := strings.LastIndex(msg, ", "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}
