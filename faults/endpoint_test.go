package faults_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/faults"
	"github.com/sesinbound/sesinbound/receipt"
)

// call is one SDK request of a scenario, named by the operation it is.
type call struct {
	op  string
	run func(context.Context) error
}

// s3Scenario calls every S3 operation the embedded endpoint serves, in an
// order where each finds what the earlier ones made.
func s3Scenario(c *s3.Client) []call {
	b, k := aws.String("bkt"), aws.String("k")
	var upload *string
	var part *string
	return []call{
		{"ListBuckets", func(ctx context.Context) error { _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); return err }},
		{"CreateBucket", func(ctx context.Context) error {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
			return err
		}},
		{"HeadBucket", func(ctx context.Context) error {
			_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b})
			return err
		}},
		{"GetBucketLocation", func(ctx context.Context) error {
			_, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b})
			return err
		}},
		{"GetBucketVersioning", func(ctx context.Context) error {
			_, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
			return err
		}},
		{"PutObject", func(ctx context.Context) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("hello")})
			return err
		}},
		{"CopyObject", func(ctx context.Context) error {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("copy"), CopySource: aws.String("src/obj")})
			return err
		}},
		{"GetObject", func(ctx context.Context) error {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
			if err == nil {
				out.Body.Close()
			}
			return err
		}},
		{"HeadObject", func(ctx context.Context) error {
			_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
			return err
		}},
		{"ListObjects", func(ctx context.Context) error {
			_, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b})
			return err
		}},
		{"ListObjectsV2", func(ctx context.Context) error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
			return err
		}},
		{"CreateMultipartUpload", func(ctx context.Context) error {
			out, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("mp")})
			if err == nil {
				upload = out.UploadId
			}
			return err
		}},
		{"UploadPart", func(ctx context.Context) error {
			out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("mp"), UploadId: orNone(upload),
				PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
			if err == nil {
				part = out.ETag
			}
			return err
		}},
		{"CompleteMultipartUpload", func(ctx context.Context) error {
			_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("mp"), UploadId: orNone(upload),
				MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{{ETag: part, PartNumber: aws.Int32(1)}}}})
			return err
		}},
		{"AbortMultipartUpload", func(ctx context.Context) error {
			_, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("mp"), UploadId: aws.String("none")})
			return err
		}},
		{"DeleteObject", func(ctx context.Context) error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k})
			return err
		}},
		{"DeleteObjects", func(ctx context.Context) error {
			_, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b,
				Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("copy")}, {Key: aws.String("mp")}}}})
			return err
		}},
		{"DeleteBucket", func(ctx context.Context) error {
			_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
			return err
		}},
	}
}

// kmsScenario calls every KMS operation the embedded endpoint serves;
// keyID names a key made beforehand and blob a ciphertext under it.
func kmsScenario(c *kms.Client, keyID string, blob []byte) []call {
	id := aws.String(keyID)
	return []call{
		{"CreateKey", func(ctx context.Context) error { _, err := c.CreateKey(ctx, &kms.CreateKeyInput{}); return err }},
		{"DescribeKey", func(ctx context.Context) error {
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id})
			return err
		}},
		{"CreateAlias", func(ctx context.Context) error {
			_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/x"), TargetKeyId: id})
			return err
		}},
		{"ListAliases", func(ctx context.Context) error { _, err := c.ListAliases(ctx, &kms.ListAliasesInput{}); return err }},
		{"ListKeys", func(ctx context.Context) error { _, err := c.ListKeys(ctx, &kms.ListKeysInput{}); return err }},
		{"DisableKey", func(ctx context.Context) error {
			_, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id})
			return err
		}},
		{"EnableKey", func(ctx context.Context) error {
			_, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id})
			return err
		}},
		{"GenerateDataKey", func(ctx context.Context) error {
			_, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: id, KeySpec: kmstypes.DataKeySpecAes256})
			return err
		}},
		{"GenerateDataKeyWithoutPlaintext", func(ctx context.Context) error {
			_, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: id, KeySpec: kmstypes.DataKeySpecAes256})
			return err
		}},
		{"Encrypt", func(ctx context.Context) error {
			_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})
			return err
		}},
		{"Decrypt", func(ctx context.Context) error {
			_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
			return err
		}},
	}
}

func orNone(s *string) *string {
	if s == nil {
		return aws.String("none")
	}
	return s
}

// Injected faults carry a status nothing else in the scenarios answers
// with, so a failure can be told from an ordinary one.
const (
	s3FaultCode, s3FaultStatus   = "SlowDown", 503
	kmsFaultCode, kmsFaultStatus = "DependencyTimeoutException", 500
)

func injected(err error, status int) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == status
}

// endpoint runs the embedded endpoint with the registry's endpoint faults
// and returns SDK clients for it, S3 path-style or virtual-host style,
// making no retries, plus a key and a blob made in-process.
func endpoint(t *testing.T, reg *faults.Registry, virtualHost bool) (*s3.Client, *kms.Client, string, []byte) {
	t.Helper()
	s, err := fakes.NewS3(fakes.WithBuckets("src"), fakes.WithS3Faults(reg.EndpointFaults("s3")))
	if err != nil {
		t.Fatal(err)
	}
	k, err := fakes.NewKMS(fakes.WithKMSFaults(reg.EndpointFaults("kms")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("obj"), Body: strings.NewReader("source")}); err != nil {
		t.Fatal(err)
	}
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("secret")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fakes.Handler(s, k))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	// Every host, bkt.localhost included, is this server.
	dial := &net.Dialer{}
	httpClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dial.DialContext(ctx, network, addr)
	}}}
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1, HTTPClient: httpClient}
	_, port, _ := net.SplitHostPort(addr)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://localhost:" + port)
		o.UsePathStyle = !virtualHost
	})
	kmsc := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return s3c, kmsc, *key.KeyMetadata.KeyId, enc.CiphertextBlob
}

// TestEndpointFaultPerOperation sets a fault on each operation the
// embedded endpoint serves, in turn, and makes every request a user's tool
// could: the fault fires on that operation and on no other.
func TestEndpointFaultPerOperation(t *testing.T) {
	for _, style := range []struct {
		name        string
		virtualHost bool
	}{{"path-style", false}, {"virtual-host", true}} {
		reg := faults.New()
		s3c, kmsc, keyID, blob := endpoint(t, reg, style.virtualHost)
		for _, target := range s3Scenario(s3c) {
			t.Run(style.name+"/s3/"+target.op, func(t *testing.T) {
				check(t, reg, "s3", target.op, s3FaultCode, s3FaultStatus, s3Scenario(s3c))
			})
		}
		if style.virtualHost {
			continue
		}
		for _, target := range kmsScenario(kmsc, keyID, blob) {
			t.Run("kms/"+target.op, func(t *testing.T) {
				check(t, reg, "kms", target.op, kmsFaultCode, kmsFaultStatus, kmsScenario(kmsc, keyID, blob))
			})
		}
	}
}

func check(t *testing.T, reg *faults.Registry, service, target, code string, status int, calls []call) {
	t.Helper()
	if err := reg.Set(receipt.FaultSpec{AWS: []receipt.AWSFault{{Service: service, Operation: target, Error: code, Scope: receipt.ScopeEndpoint}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Clear)
	for _, c := range calls {
		err := c.run(t.Context())
		if got, want := injected(err, status), c.op == target; got != want {
			t.Errorf("fault on %s: %s fired = %v, want %v (err %v)", target, c.op, got, want, err)
		}
	}
}

// TestScopes: a fault of scope sesinbound never reaches the endpoint, one of
// scope endpoint never reaches the pipeline's decorators, and both reach
// both.
func TestScopes(t *testing.T) {
	for _, tt := range []struct {
		scope              string
		endpoint, pipeline bool
	}{
		{receipt.ScopeSesinbound, false, true},
		{receipt.ScopeEndpoint, true, false},
		{receipt.ScopeBoth, true, true},
	} {
		t.Run(tt.scope, func(t *testing.T) {
			reg := faults.New()
			s3c, _, _, _ := endpoint(t, reg, false)
			if err := reg.Set(receipt.FaultSpec{AWS: []receipt.AWSFault{{Service: "s3", Operation: "PutObject", Error: s3FaultCode, Scope: tt.scope}}}); err != nil {
				t.Fatal(err)
			}
			_, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("k"), Body: strings.NewReader("x")})
			if got := injected(err, s3FaultStatus); got != tt.endpoint {
				t.Errorf("endpoint PutObject fired = %v, want %v (%v)", got, tt.endpoint, err)
			}
			st := faults.Store{ObjectStore: &okStore{}, Faults: reg}
			_, err = st.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("src")})
			if got := err != nil; got != tt.pipeline {
				t.Errorf("pipeline PutObject fired = %v, want %v (%v)", got, tt.pipeline, err)
			}
		})
	}
}

// TestEndpointWire: a fault is answered in the service's own format, with
// the status AWS sends with its code, and counts down.
func TestEndpointWire(t *testing.T) {
	reg := faults.New()
	s, _ := fakes.NewS3(fakes.WithBuckets("bkt"), fakes.WithS3Faults(reg.EndpointFaults("s3")))
	k, _ := fakes.NewKMS(fakes.WithKMSFaults(reg.EndpointFaults("kms")))
	h := fakes.Handler(s, k)
	reg.Set(receipt.FaultSpec{AWS: []receipt.AWSFault{
		{Service: "s3", Operation: "GetObject", Error: "SlowDown", Count: 1, Scope: "endpoint"},
		{Service: "kms", Error: "AccessDeniedException", Count: 1, Scope: "endpoint"}}})
	get := httptest.NewRecorder()
	h.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/bkt/key", nil))
	if get.Code != 503 || !strings.Contains(get.Body.String(), "<Code>SlowDown</Code>") {
		t.Fatalf("GetObject under a fault = %d %s", get.Code, get.Body)
	}
	again := httptest.NewRecorder()
	h.ServeHTTP(again, httptest.NewRequest(http.MethodGet, "/bkt/key", nil))
	if again.Code != 404 {
		t.Fatalf("the fault fired twice with Count 1: %d %s", again.Code, again.Body)
	}
	kr := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "TrentService.Decrypt")
	h.ServeHTTP(kr, req)
	var body map[string]string
	json.Unmarshal(kr.Body.Bytes(), &body)
	if kr.Code != 400 || body["__type"] != "AccessDeniedException" || kr.Header().Get("X-Amzn-ErrorType") != "AccessDeniedException" {
		t.Fatalf("KMS under a fault = %d %v", kr.Code, body)
	}
}
