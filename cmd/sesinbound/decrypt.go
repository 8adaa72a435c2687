package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/emulator"
	"github.com/sesinbound/sesinbound/receipt"
	"github.com/sesinbound/sesinbound/s3object"
)

// decrypt prints one stored message. It reads through s3object.Open, that
// is through the official Go S3 Encryption Client (v4, legacy wrapping
// enabled, any key, commitment policy REQUIRE_ENCRYPT_ALLOW_DECRYPT, as SES
// mail needs), the way a user's own decryptor would, rather than through
// sesinbound's encrypt package, so it also proves the object is readable by
// the official client; s3object also explains the S3 and KMS errors.
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
	obj, err := s3object.Open(ctx, clients.S3, clients.KMS, bucket, key)
	if err != nil {
		return err
	}
	body := obj.Body
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
