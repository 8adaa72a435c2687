// Package officialdecrypt reads a stored message through the official Go
// Amazon S3 Encryption Client (v4), the way a user's own decryptor would,
// so that what it returns also proves the object is readable by that
// client. cmd/sesinbound's decrypt and sesinboundtest's Message.Decrypted
// both read through it; it does not explain errors (decrypt does that for
// people).
package officialdecrypt

import (
	"context"
	"fmt"
	"io"
	"log"

	s3ec "github.com/aws/amazon-s3-encryption-client-go/v4/client"
	"github.com/aws/amazon-s3-encryption-client-go/v4/commitment"
	"github.com/aws/amazon-s3-encryption-client-go/v4/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/encrypt"
)

// NewClient returns the S3 Encryption Client set up to read what SES
// writes: any KMS key, the legacy "kms" key wrap allowed, and AES-GCM
// without key commitment allowed on decrypt.
func NewClient(s3c *s3.Client, kmsc materials.KmsAPIClient) (*s3ec.S3EncryptionClientV4, error) {
	kr := materials.NewKmsDecryptOnlyAnyKeyKeyring(kmsc, func(o *materials.KeyringOptions) {
		o.EnableLegacyWrappingAlgorithms = true // SES writes the legacy "kms" wrap
	})
	cmm, err := materials.NewCryptographicMaterialsManager(kr)
	if err != nil {
		return nil, err
	}
	return s3ec.New(s3c, cmm, func(o *s3ec.EncryptionClientOptions) {
		o.Logger = log.New(io.Discard, "", 0)
		// SES encrypts with AES-GCM without key commitment; v4's default,
		// REQUIRE_ENCRYPT_REQUIRE_DECRYPT, refuses to read that.
		o.CommitmentPolicy = commitment.REQUIRE_ENCRYPT_ALLOW_DECRYPT
	})
}

// Get returns the object's plaintext: decrypted with NewClient's client
// when it carries an envelope, as stored otherwise. GCM authenticates at
// the end of the body, so a tampered object fails on the last Read.
func Get(ctx context.Context, s3c *s3.Client, kmsc materials.KmsAPIClient, bucket, key string) (io.ReadCloser, error) {
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
	ec, err := NewClient(s3c, kmsc)
	if err != nil {
		return nil, fmt.Errorf("decrypt s3://%s/%s: %w", bucket, key, err)
	}
	out, err := ec.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}
