package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/emulator"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/internal/officialdecrypt"
	"github.com/sesinbound/sesinbound/receipt"
)

// decrypt prints one stored message. It reads through the official Go S3
// Encryption Client (v4, legacy wrapping enabled, any key, commitment policy
// REQUIRE_ENCRYPT_ALLOW_DECRYPT, as SES mail needs), the way a user's
// own decryptor would, rather than through sesinbound's code, so it also
// proves the object is readable by the official client.
func decrypt(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sesinbound decrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	awsAddr := fs.String("aws-addr", orString(getenv("SESINBOUND_AWS_ADDR"), DefaultConfig().AWSAddr), "")
	s3Endpoint := fs.String("s3-endpoint", getenv("SESINBOUND_S3_ENDPOINT"), "")
	kmsEndpoint := fs.String("kms-endpoint", getenv("SESINBOUND_KMS_ENDPOINT"), "")
	pathStyle := boolValue(true)
	if v := getenv("SESINBOUND_S3_PATH_STYLE"); v != "" {
		if err := pathStyle.Set(v); err != nil {
			return fmt.Errorf("SESINBOUND_S3_PATH_STYLE=%q: %v", v, err)
		}
	}
	fs.Var(&pathStyle, "s3-path-style", "")
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

	// Each service is where serve would find it: its own endpoint if one is
	// configured, otherwise sesinbound's embedded endpoint at --aws-addr.
	ep := backend.Endpoints{PathStyle: bool(pathStyle)}
	for _, svc := range []struct {
		flag, name string
		dst        *string
	}{{*s3Endpoint, "S3", &ep.S3}, {*kmsEndpoint, "KMS", &ep.KMS}} {
		switch u := emulator.Endpoint(svc.flag, svc.name, getenv); u {
		case "":
			*svc.dst = endpointURL(*awsAddr)
		case emulator.EndpointAWS:
		default:
			*svc.dst = u
		}
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
		ec, err := officialdecrypt.NewClient(s3c, clients.KMS)
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

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
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
