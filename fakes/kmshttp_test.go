package fakes_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	credsv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	kmsv1 "github.com/aws/aws-sdk-go/service/kms"

	"github.com/sesinbound/sesinbound/fakes"
)

// kmsPost sends a raw KMS JSON 1.1 request and returns the response and its
// body.
func kmsPost(t *testing.T, url, method, target, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func TestKMSHTTPWireFormat(t *testing.T) {
	srv := httptest.NewServer(fakes.Handler(nil, kmsNew(t)))
	t.Cleanup(srv.Close)

	resp, body := kmsPost(t, srv.URL, http.MethodPost, "TrentService.CreateKey", `{"Description":"raw"}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" || resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("CreateKey: %s, headers %v", resp.Status, resp.Header)
	}
	var created struct{ KeyMetadata map[string]any }
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&created); err != nil {
		t.Fatalf("CreateKey body %s: %v", body, err)
	}
	if date, ok := created.KeyMetadata["CreationDate"].(json.Number); !ok || date.String() != "1795413600.123" {
		t.Errorf("CreationDate = %#v, want the epoch-seconds number 1795413600.123", created.KeyMetadata["CreationDate"])
	}
	id, _ := created.KeyMetadata["KeyId"].(string)

	// Blobs are base64 both ways.
	resp, body = kmsPost(t, srv.URL, http.MethodPost, "TrentService.Encrypt", `{"KeyId":"`+id+`","Plaintext":"aGVsbG8=","EncryptionContext":{"k":"v"}}`)
	var enc struct{ CiphertextBlob []byte }
	if err := json.Unmarshal(body, &enc); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("Encrypt: %s %s", resp.Status, body)
	}
	req, _ := json.Marshal(map[string]any{"CiphertextBlob": enc.CiphertextBlob, "EncryptionContext": map[string]string{"k": "v"}})
	resp, body = kmsPost(t, srv.URL, http.MethodPost, "TrentService.Decrypt", string(req))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"Plaintext":"aGVsbG8="`) {
		t.Fatalf("Decrypt: %s %s", resp.Status, body)
	}

	errorTests := []struct {
		name, method, target, body string
		status                     int
		code                       string
	}{
		{"unknown operation", http.MethodPost, "TrentService.ScheduleKeyDeletion", `{}`, 400, "UnknownOperationException"},
		{"not POST", http.MethodGet, "TrentService.ListKeys", ``, 400, "UnknownOperationException"},
		{"bad JSON", http.MethodPost, "TrentService.DescribeKey", `{"KeyId":`, 400, "SerializationException"},
		{"bad base64", http.MethodPost, "TrentService.Decrypt", `{"CiphertextBlob":"!!"}`, 400, "SerializationException"},
		{"not found", http.MethodPost, "TrentService.DescribeKey", `{"KeyId":"alias/none"}`, 400, "NotFoundException"},
		{"bad ciphertext", http.MethodPost, "TrentService.Decrypt", `{"CiphertextBlob":"aGVsbG8="}`, 400, "InvalidCiphertextException"},
		{"dry run", http.MethodPost, "TrentService.Encrypt", `{"KeyId":"` + id + `","Plaintext":"aGVsbG8=","DryRun":true}`, 412, "DryRunOperationException"},
	}
	for _, tt := range errorTests {
		resp, body := kmsPost(t, srv.URL, tt.method, tt.target, tt.body)
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != tt.status || e.Type != tt.code ||
			resp.Header.Get("X-Amzn-ErrorType") != tt.code || resp.Header.Get("x-amzn-RequestId") == "" || e.Message == "" {
			t.Errorf("%s: %s %s, X-Amzn-ErrorType %q; want %d %s", tt.name, resp.Status, body, resp.Header.Get("X-Amzn-ErrorType"), tt.status, tt.code)
		}
	}

	// An empty body is an empty request.
	if resp, body := kmsPost(t, srv.URL, http.MethodPost, "TrentService.ListKeys", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("ListKeys with no body: %s %s", resp.Status, body)
	}
}

// Without an embedded KMS, Handler answers KMS requests with a KMS error.
func TestKMSHandlerWithoutKMS(t *testing.T) {
	srv := httptest.NewServer(fakes.Handler(nil, nil))
	t.Cleanup(srv.Close)
	resp, body := kmsPost(t, srv.URL, http.MethodPost, "TrentService.ListKeys", `{}`)
	if resp.StatusCode != http.StatusNotImplemented || resp.Header.Get("X-Amzn-ErrorType") != "UnsupportedOperationException" {
		t.Fatalf("KMS request with no KMS: %s %s", resp.Status, body)
	}
}

// aws-sdk-go v1's s3crypto (RegisterKMSWrapWithAnyCMK) decrypts data keys
// with no KeyId; the v1 SDK must parse the responses too.
func TestKMSSDKv1(t *testing.T) {
	k := kmsNew(t)
	srv := httptest.NewServer(fakes.Handler(nil, k))
	t.Cleanup(srv.Close)
	gen, err := k.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{
		KeyId: aws.String(kmsARNPrefix + kmsSESAlias), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: kmsSESContext(),
	})
	if err != nil {
		t.Fatal(err)
	}

	sess, err := session.NewSession(&awsv1.Config{
		Region:      awsv1.String("us-east-1"),
		Endpoint:    awsv1.String(srv.URL),
		Credentials: credsv1.NewStaticCredentials("test", "test", ""),
		MaxRetries:  awsv1.Int(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	client := kmsv1.New(sess)
	ctxv1 := func() map[string]*string { return awsv1.StringMap(kmsSESContext()) }

	out, err := client.DecryptWithContext(t.Context(), &kmsv1.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ctxv1()})
	if err != nil {
		t.Fatalf("v1 Decrypt without KeyId: %v", err)
	}
	if !bytes.Equal(out.Plaintext, gen.Plaintext) || awsv1.StringValue(out.KeyId) != *gen.KeyId {
		t.Errorf("v1 Decrypt = %x under %s, want %x under %s", out.Plaintext, awsv1.StringValue(out.KeyId), gen.Plaintext, *gen.KeyId)
	}

	wrong := ctxv1()
	wrong["aws:ses:rule-name"] = awsv1.String("other")
	_, err = client.DecryptWithContext(t.Context(), &kmsv1.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: wrong})
	var ae awserr.Error
	if !errors.As(err, &ae) || ae.Code() != kmsv1.ErrCodeInvalidCiphertextException {
		t.Errorf("v1 Decrypt with a wrong context = %v, want %s", err, kmsv1.ErrCodeInvalidCiphertextException)
	}

	desc, err := client.DescribeKeyWithContext(t.Context(), &kmsv1.DescribeKeyInput{KeyId: awsv1.String(kmsSESAlias)})
	if err != nil || !desc.KeyMetadata.CreationDate.Equal(kmsTestTime()) || awsv1.StringValue(desc.KeyMetadata.KeyManager) != "AWS" {
		t.Errorf("v1 DescribeKey = %v, %v", desc, err)
	}
	aliases, err := client.ListAliasesWithContext(t.Context(), &kmsv1.ListAliasesInput{})
	if err != nil || len(aliases.Aliases) != 1 || !aliases.Aliases[0].CreationDate.Equal(kmsTestTime()) {
		t.Errorf("v1 ListAliases = %v, %v", aliases, err)
	}
}
