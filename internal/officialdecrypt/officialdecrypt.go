// Package officialdecrypt reads a stored message through the official Go
// Amazon S3 Encryption Client, the way a user's own decryptor would, so
// that what it returns also proves the object is readable by that client.
// It is shared by sesinboundtest's Message.Decrypted; it does not explain
// errors (cmd/sesinbound's decrypt does that for people).
package officialdecrypt

import (
	"context"
	"fmt"
	"io"
	"log"

	s3ec "github.com/aws/amazon-s3-encryption-client-go/v3/client"
	"github.com/aws/amazon-s3-encryption-client-go/v3/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/encrypt"
)

// Get returns the object's plaintext: decrypted with the S3 Encryption
// Client (v3, SES's legacy "kms" wrap allowed, any key) when it carries an
// envelope, as stored otherwise. GCM authenticates at the end of the
// body, so a tampered object fails on the last Read.
func Get(ctx context.Context, s3c *s3.Client, kmsc *kms.Client, bucket, key string) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key})
	if err != nil {
		return nil, err
	}
	if !encrypt.IsEnvelope(head.Metadata) {
		out, err := s3c.GetObject(ctx, in)
		if err != nil {
			return nil, err
		}
		return out.Body, nil
	}
	kr := materials.NewKmsDecryptOnlyAnyKeyKeyring(kmsc, func(o *materials.KeyringOptions) {
		o.EnableLegacyWrappingAlgorithms = true // SES writes the legacy "kms" wrap
	})
	cmm, err := materials.NewCryptographicMaterialsManager(kr)
	if err != nil {
		return nil, fmt.Errorf("decrypt s3://%s/%s: %w", bucket, key, err)
	}
	ec, err := s3ec.New(s3c, cmm, func(o *s3ec.EncryptionClientOptions) {
		o.Logger = log.New(io.Discard, "", 0)
	})
	if err != nil {
		return nil, fmt.Errorf("decrypt s3://%s/%s: %w", bucket, key, err)
	}
	out, err := ec.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}
