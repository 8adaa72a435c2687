package backend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/receipt"
)

// ObjectAPI is the part of S3 that the metadata probe uses.
type ObjectAPI interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// CryptoAPI is the part of KMS that the key check uses.
type CryptoAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Severity grades a Finding.
type Severity string

// Severities, from good to fatal.
const (
	OK   Severity = "ok"
	Warn Severity = "warn"
	Fail Severity = "FAIL"
)

// Finding is one result of a check.
type Finding struct {
	Check    string // what was checked, e.g. "metadata round trip s3://bucket"
	Severity Severity
	Detail   string
}

// requiredMeta are the envelope entries without which no decryptor can open
// an object; x-amz-unencrypted-content-length is optional in the S3EC
// format, so losing it is a warning.
func requiredMeta(key string) bool {
	switch key {
	case encrypt.MetaKeyV2, encrypt.MetaIV, encrypt.MetaCEKAlg, encrypt.MetaWrapAlg, encrypt.MetaTagLen, encrypt.MetaMatDesc:
		return true
	}
	return false
}

// ProbeMetadata writes an object carrying the seven envelope entries SES
// writes, reads it back and compares, then deletes it. Servers differ:
// MinIO drops x-amz-unencrypted-content-length, some change key case, some
// add entries of their own.
func ProbeMetadata(ctx context.Context, s3c ObjectAPI, bucket string) []Finding {
	check := "metadata round trip s3://" + bucket
	var rnd [8]byte
	rand.Read(rnd[:])
	key := "sesinbound-probe-" + hex.EncodeToString(rnd[:])
	want := map[string]string{
		encrypt.MetaKeyV2:             "AQIDAHgN94fUlYO17HEeDorBZENwiXuQ3swljPjtZVKT/lVftAHJVBJhXNH02aAWuPsxxBo5AAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMvq8jOYujNpL+coHxAgEQgDsRyJ3hFidKl5hw208WxBcNPCnlFmHyQ36HEewuORCoqGIor4uuhe3mcmVdGv2e5qob3Ju/C4hC3Ekpvg==",
		encrypt.MetaIV:                "NUhrJ+0LoGyof/dj",
		encrypt.MetaCEKAlg:            encrypt.CEKAlgAESGCM,
		encrypt.MetaWrapAlg:           encrypt.WrapAlgKMS,
		encrypt.MetaTagLen:            encrypt.TagLenBits,
		encrypt.MetaMatDesc:           `{"aws:ses:message-id":"lhne4tbq09c867b1ko1f3ho4fqfidcatruo26781","aws:ses:rule-name":"probe","aws:ses:source-account":"111122223333","kms_cmk_id":"arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}`,
		encrypt.MetaUnencryptedLength: "5",
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader("probe"), ContentLength: aws.Int64(5), Metadata: want}); err != nil {
		return []Finding{{check, Fail, "cannot write a probe object: " + Explain(err)}}
	}
	defer s3c.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	out, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return []Finding{{check, Fail, "cannot read the probe object back: " + Explain(err)}}
	}
	var findings []Finding
	got := map[string]string{}
	for k, v := range out.Metadata {
		got[strings.ToLower(k)] = v
		if k != strings.ToLower(k) {
			findings = append(findings, Finding{check, Warn, fmt.Sprintf("metadata key %s comes back as %q; decryptors that match case-sensitively will miss it", strings.ToLower(k), k)})
		}
	}
	for _, k := range sortedKeys(want) {
		v, ok := got[k]
		switch {
		case !ok && requiredMeta(k):
			findings = append(findings, Finding{check, Fail, fmt.Sprintf("metadata key %s is dropped: no decryptor can open objects stored here", k)})
		case !ok:
			findings = append(findings, Finding{check, Warn, fmt.Sprintf("metadata key %s is dropped; decryptors do not need it, but code that reads it will not find it", k)})
		case v != want[k]:
			findings = append(findings, Finding{check, Fail, fmt.Sprintf("metadata key %s changes from %q to %q", k, want[k], v)})
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			findings = append(findings, Finding{check, Warn, fmt.Sprintf("metadata key %s is added by the server", k)})
		}
	}
	if len(findings) == 0 {
		findings = append(findings, Finding{check, OK, "all seven envelope metadata keys round-trip unchanged"})
	}
	return findings
}

// CheckKey generates a data key under the SES encryption context and
// decrypts it back, then checks that a different context is refused, as
// decryptors rely on.
func CheckKey(ctx context.Context, kmsc CryptoAPI, rs *receipt.RuleSet, keyARN string) []Finding {
	check := "kms key " + keyARN
	encCtx := receipt.EncryptionContext(rs.AccountID, "sesinbound-doctor", "lhne4tbq09c867b1ko1f3ho4fqfidcatruo26781", keyARN)
	dk, err := kmsc.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyARN), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: encCtx})
	if err != nil {
		return []Finding{{check, Fail, "GenerateDataKey: " + Explain(err)}}
	}
	defer clear(dk.Plaintext)
	out, err := kmsc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: encCtx})
	if err != nil {
		return []Finding{{check, Fail, "Decrypt with the same context: " + Explain(err)}}
	}
	ok := len(out.Plaintext) == len(dk.Plaintext) && string(out.Plaintext) == string(dk.Plaintext)
	clear(out.Plaintext)
	if !ok {
		return []Finding{{check, Fail, "Decrypt returned a different data key"}}
	}
	other := map[string]string{}
	for k, v := range encCtx {
		other[k] = v
	}
	other[receipt.ContextKeyRuleName] = "another-rule"
	if _, err := kmsc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: other}); err == nil {
		return []Finding{{check, Warn, "data keys decrypt under another encryption context: this KMS does not bind the context, so decryptor bugs around x-amz-matdesc will go unnoticed"}}
	}
	return []Finding{{check, OK, "GenerateDataKey and Decrypt work with SES's encryption context, and another context is refused"}}
}

// Explain turns an SDK error into one line a person can act on, naming an
// unreachable endpoint rather than showing a stack of wrappers.
func Explain(err error) string {
	var ue *url.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &oe) && oe.Op == "dial":
		host := ""
		if errors.As(err, &ue) {
			host = ue.URL
			if u, perr := url.Parse(ue.URL); perr == nil {
				host = u.Scheme + "://" + u.Host
			}
		}
		return fmt.Sprintf("cannot reach %s (%v)", host, oe.Err)
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &ae) {
		if m := ae.ErrorMessage(); m != "" {
			return ae.ErrorCode() + ": " + m
		}
		return ae.ErrorCode()
	}
	return err.Error()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
