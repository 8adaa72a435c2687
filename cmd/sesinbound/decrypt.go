package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	s3ec "github.com/aws/amazon-s3-encryption-client-go/v3/client"
	"github.com/aws/amazon-s3-encryption-client-go/v3/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/receipt"
)

// decrypt prints one stored message. It reads through the official Go S3
// Encryption Client (v3, legacy wrapping enabled, any key), the way a user's
// own decryptor would, rather than through sesinbound's code, so it also
// proves the object is readable by the official client.
func decrypt(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sesinbound decrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	awsAddr := fs.String("aws-addr", "", "")
	var outPath string
	fs.StringVar(&outPath, "output", "", "")
	fs.StringVar(&outPath, "o", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("decrypt needs one argument, s3://BUCKET/KEY")
	}
	bucket, key, err := parseS3URL(fs.Arg(0))
	if err != nil {
		return err
	}

	ep := backend.Endpoints{PathStyle: true}
	switch addr := *awsAddr; {
	case addr != "":
		ep.S3, ep.KMS = endpointURL(addr), endpointURL(addr)
	case anyEnv(getenv, backend.EndpointEnv...):
		// The standard variables choose the endpoints, as they do for serve.
	default:
		addr = getenv("SESINBOUND_AWS_ADDR")
		if addr == "" {
			addr = DefaultConfig().AWSAddr
		}
		ep.S3, ep.KMS = endpointURL(addr), endpointURL(addr)
	}
	clients, err := backend.NewClients(ctx, receipt.DefaultRegion, ep)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("s3://%s/%s", bucket, key)
	head, err := clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return describeS3Error(where, err)
	}
	var body io.ReadCloser
	if !encrypt.IsEnvelope(head.Metadata) {
		out, err := clients.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return describeS3Error(where, err)
		}
		body = out.Body
	} else {
		kr := materials.NewKmsDecryptOnlyAnyKeyKeyring(clients.KMS, func(o *materials.KeyringOptions) {
			o.EnableLegacyWrappingAlgorithms = true // SES writes the legacy "kms" wrap
		})
		cmm, err := materials.NewCryptographicMaterialsManager(kr)
		if err != nil {
			return fmt.Errorf("decrypt %s: %w", where, err)
		}
		ec, err := s3ec.New(clients.S3, cmm)
		if err != nil {
			return fmt.Errorf("decrypt %s: %w", where, err)
		}
		out, err := ec.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return describeDecryptError(where, err)
		}
		body = out.Body
	}
	defer body.Close()

	w := stdout
	if outPath != "" {
		f, err := os.Create(outPath)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if _, err := io.Copy(w, body); err != nil {
		// GCM authenticates at the end: a tampered object fails here.
		return fmt.Errorf("decrypt %s: %w", where, err)
	}
	return nil
}

func parseS3URL(s string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if ok {
		bucket, key, ok = strings.Cut(rest, "/")
	}
	if !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET/KEY URL", s)
	}
	return bucket, key, nil
}

func endpointURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr
}

func anyEnv(getenv func(string) string, names ...string) bool {
	for _, n := range names {
		if getenv(n) != "" {
			return true
		}
	}
	return false
}

func describeS3Error(where string, err error) error {
	var nk *s3types.NoSuchKey
	var nf *s3types.NotFound
	var nb *s3types.NoSuchBucket
	switch {
	case errors.As(err, &nk), errors.As(err, &nf):
		return fmt.Errorf("%s: no such object (or no such bucket)", where)
	case errors.As(err, &nb):
		return fmt.Errorf("%s: no such bucket", where)
	}
	return fmt.Errorf("%s: %w", where, err)
}

func describeDecryptError(where string, err error) error {
	var ic *kmstypes.InvalidCiphertextException
	var ik *kmstypes.IncorrectKeyException
	var nf *kmstypes.NotFoundException
	var ae smithy.APIError
	switch {
	case errors.As(err, &ic), errors.As(err, &ik):
		return fmt.Errorf("%s: KMS refused to decrypt the data key (wrong key, or the encryption context does not match): %w", where, err)
	case errors.As(err, &nf):
		return fmt.Errorf("%s: the KMS key that wrapped this object does not exist here: %w", where, err)
	case errors.As(err, &ae):
		return fmt.Errorf("%s: %s: %s", where, ae.ErrorCode(), ae.ErrorMessage())
	}
	return describeS3Error(where, err)
}
