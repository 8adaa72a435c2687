package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	s3ec "github.com/aws/amazon-s3-encryption-client-go/v3/client"
	"github.com/aws/amazon-s3-encryption-client-go/v3/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
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
	s3c := clients.S3
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nf *s3types.NotFound
		if errors.As(err, &nf) {
			if _, berr := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); berr != nil {
				return fmt.Errorf("%s: no such bucket %s", where, bucket)
			}
			return fmt.Errorf("%s: no such object", where)
		}
		return describeS3Error(where, err)
	}
	var body io.ReadCloser
	if !encrypt.IsEnvelope(head.Metadata) {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
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
		ec, err := s3ec.New(s3c, cmm, func(o *s3ec.EncryptionClientOptions) {
			o.Logger = log.New(io.Discard, "", 0)
		})
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
