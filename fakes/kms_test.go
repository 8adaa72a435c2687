package fakes_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/fakes"
)

// kmsAPI is what the tests call; the embedded KMS and the SDK client both
// have it, so the same test runs in-process and over HTTP.
type kmsAPI interface {
	CreateKey(context.Context, *kms.CreateKeyInput, ...func(*kms.Options)) (*kms.CreateKeyOutput, error)
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	CreateAlias(context.Context, *kms.CreateAliasInput, ...func(*kms.Options)) (*kms.CreateAliasOutput, error)
	ListAliases(context.Context, *kms.ListAliasesInput, ...func(*kms.Options)) (*kms.ListAliasesOutput, error)
	ListKeys(context.Context, *kms.ListKeysInput, ...func(*kms.Options)) (*kms.ListKeysOutput, error)
	EnableKey(context.Context, *kms.EnableKeyInput, ...func(*kms.Options)) (*kms.EnableKeyOutput, error)
	DisableKey(context.Context, *kms.DisableKeyInput, ...func(*kms.Options)) (*kms.DisableKeyOutput, error)
	Encrypt(context.Context, *kms.EncryptInput, ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
	GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	GenerateDataKeyWithoutPlaintext(context.Context, *kms.GenerateDataKeyWithoutPlaintextInput, ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error)
}

var (
	_ kmsAPI = (*fakes.KMS)(nil)
	_ kmsAPI = (*kms.Client)(nil)
)

const (
	kmsTestAccount = "000000000000"
	kmsARNPrefix   = "arn:aws:kms:us-east-1:" + kmsTestAccount + ":"
	kmsSESAlias    = "alias/aws/ses"
)

func kmsTestTime() time.Time { return time.Date(2026, 11, 23, 6, 0, 0, 123e6, time.UTC) }

// kmsSESContext is the encryption context SES uses for an object's data key.
func kmsSESContext() map[string]string {
	return map[string]string{
		"aws:ses:message-id":     "lhne4tbq09c867b1ko1f3ho4fqfidcatruo26781",
		"aws:ses:rule-name":      "store-all",
		"aws:ses:source-account": kmsTestAccount,
		"kms_cmk_id":             kmsARNPrefix + kmsSESAlias,
	}
}

// kmsNew returns an embedded KMS with a seeded random source and a fixed
// clock.
func kmsNew(t *testing.T, opts ...fakes.KMSOption) *fakes.KMS {
	t.Helper()
	base := []fakes.KMSOption{
		fakes.WithKMSRand(rand.NewChaCha8([32]byte{1})),
		fakes.WithKMSClock(kmsTestTime),
	}
	k, err := fakes.NewKMS(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewKMS: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// kmsServe serves k over HTTP and returns an SDK client for it.
func kmsServe(t *testing.T, k *fakes.KMS) *kms.Client {
	t.Helper()
	srv := httptest.NewServer(fakes.Handler(nil, k))
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

// kmsEachAPI runs f against a new embedded KMS in-process and another over
// HTTP through the SDK.
func kmsEachAPI(t *testing.T, f func(t *testing.T, api kmsAPI)) {
	t.Helper()
	t.Run("in-process", func(t *testing.T) { f(t, kmsNew(t)) })
	t.Run("http", func(t *testing.T) { f(t, kmsServe(t, kmsNew(t))) })
}

func kmsCreateKey(t *testing.T, api kmsAPI, aliases ...string) *kmstypes.KeyMetadata {
	t.Helper()
	out, err := api.CreateKey(t.Context(), &kms.CreateKeyInput{Description: aws.String("test key")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	for _, a := range aliases {
		if _, err := api.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: aws.String(a), TargetKeyId: out.KeyMetadata.KeyId}); err != nil {
			t.Fatalf("CreateAlias(%s): %v", a, err)
		}
	}
	return out.KeyMetadata
}

// kmsWantErr fails unless err is, or wraps, an error of type E.
func kmsWantErr[E error](t *testing.T, err error) {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("error = %v, want %T", err, target)
	}
}

// kmsWantCode fails unless err is an API error with the code.
func kmsWantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

func TestKMSCreateKeyMetadata(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		m := kmsCreateKey(t, api)
		id := aws.ToString(m.KeyId)
		if len(id) != 36 || strings.Count(id, "-") != 4 {
			t.Errorf("KeyId = %q, want a UUID", id)
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"AWSAccountId", aws.ToString(m.AWSAccountId), kmsTestAccount},
			{"Arn", aws.ToString(m.Arn), kmsARNPrefix + "key/" + id},
			{"CreationDate", aws.ToTime(m.CreationDate).UTC(), kmsTestTime()},
			{"Enabled", m.Enabled, true},
			{"Description", aws.ToString(m.Description), "test key"},
			{"KeyUsage", m.KeyUsage, kmstypes.KeyUsageTypeEncryptDecrypt},
			{"KeyState", m.KeyState, kmstypes.KeyStateEnabled},
			{"Origin", m.Origin, kmstypes.OriginTypeAwsKms},
			{"KeyManager", m.KeyManager, kmstypes.KeyManagerTypeCustomer},
			{"CustomerMasterKeySpec", m.CustomerMasterKeySpec, kmstypes.CustomerMasterKeySpecSymmetricDefault},
			{"KeySpec", m.KeySpec, kmstypes.KeySpecSymmetricDefault},
			{"EncryptionAlgorithms", slices.Equal(m.EncryptionAlgorithms, []kmstypes.EncryptionAlgorithmSpec{kmstypes.EncryptionAlgorithmSpecSymmetricDefault}), true},
			{"MultiRegion", m.MultiRegion != nil && !*m.MultiRegion, true},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
	})
}

func TestKMSCreateKeyRefusesOtherKinds(t *testing.T) {
	tests := []struct {
		name string
		in   kms.CreateKeyInput
		code string
	}{
		{"asymmetric", kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048}, "UnsupportedOperationException"},
		{"hmac", kms.CreateKeyInput{KeySpec: kmstypes.KeySpecHmac256}, "UnsupportedOperationException"},
		{"unknown spec", kms.CreateKeyInput{KeySpec: "AES_512"}, "ValidationException"},
		{"both specs", kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, CustomerMasterKeySpec: kmstypes.CustomerMasterKeySpecSymmetricDefault}, "ValidationException"},
		{"sign usage", kms.CreateKeyInput{KeyUsage: kmstypes.KeyUsageTypeSignVerify}, "ValidationException"},
		{"external origin", kms.CreateKeyInput{Origin: kmstypes.OriginTypeExternal}, "UnsupportedOperationException"},
		{"multi-region", kms.CreateKeyInput{MultiRegion: aws.Bool(true)}, "UnsupportedOperationException"},
		{"bad custom id", kms.CreateKeyInput{Tags: []kmstypes.Tag{{TagKey: aws.String("_custom_id_"), TagValue: aws.String("nope")}}}, "TagException"},
		{"bad custom material", kms.CreateKeyInput{Tags: []kmstypes.Tag{{TagKey: aws.String("_custom_key_material_"), TagValue: aws.String("c2hvcnQ=")}}}, "TagException"},
	}
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := api.CreateKey(t.Context(), &tt.in)
				kmsWantCode(t, err, tt.code)
			})
		}
		explicit := &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt, Origin: kmstypes.OriginTypeAwsKms}
		if _, err := api.CreateKey(t.Context(), explicit); err != nil {
			t.Errorf("CreateKey(SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, AWS_KMS): %v", err)
		}
	})
}

func TestKMSKeyIDForms(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		m := kmsCreateKey(t, api, "alias/mail")
		id := aws.ToString(m.KeyId)
		for _, ref := range []string{id, kmsARNPrefix + "key/" + id, "alias/mail", kmsARNPrefix + "alias/mail"} {
			out, err := api.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(ref)})
			if err != nil {
				t.Errorf("DescribeKey(%s): %v", ref, err)
				continue
			}
			if got := aws.ToString(out.KeyMetadata.KeyId); got != id {
				t.Errorf("DescribeKey(%s).KeyId = %s, want %s", ref, got, id)
			}
		}
		for _, ref := range []string{
			"4e1d4b5e-8f5c-4c8e-9d1a-000000000000",
			"alias/missing",
			kmsARNPrefix + "alias/missing",
			"arn:aws:kms:eu-west-1:" + kmsTestAccount + ":key/" + id,
			"arn:aws:kms:us-east-1:111122223333:alias/mail",
			"arn:aws:s3:::bucket",
			"not-a-key",
		} {
			_, err := api.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(ref)})
			kmsWantErr[*kmstypes.NotFoundException](t, err)
		}
	})
}

func TestKMSCreateAliasErrors(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		id := kmsCreateKey(t, api, "alias/taken").KeyId
		tests := []struct {
			alias, target, code string
		}{
			{"mail", *id, "ValidationException"},
			{"alias/white space", *id, "ValidationException"},
			{"alias/taken", *id, "AlreadyExistsException"},
			{"alias/new", "4e1d4b5e-8f5c-4c8e-9d1a-000000000000", "NotFoundException"},
			{"alias/aws/mine", *id, "NotAuthorizedException"},
		}
		for _, tt := range tests {
			_, err := api.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: aws.String(tt.alias), TargetKeyId: aws.String(tt.target)})
			kmsWantCode(t, err, tt.code)
		}
		_, err := api.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: aws.String("alias/taken"), TargetKeyId: id})
		kmsWantErr[*kmstypes.AlreadyExistsException](t, err)
	})
}

func TestKMSListKeysAndAliases(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		var ids []string
		for _, a := range []string{"alias/a", "alias/b", "alias/c"} {
			ids = append(ids, *kmsCreateKey(t, api, a).KeyId)
		}
		if _, err := api.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: aws.String("alias/a2"), TargetKeyId: &ids[0]}); err != nil {
			t.Fatal(err)
		}

		var listed []string
		var marker *string
		for page := 0; ; page++ {
			out, err := api.ListKeys(t.Context(), &kms.ListKeysInput{Limit: aws.Int32(2), Marker: marker})
			if err != nil {
				t.Fatalf("ListKeys: %v", err)
			}
			for _, e := range out.Keys {
				listed = append(listed, *e.KeyId)
				if *e.KeyArn != kmsARNPrefix+"key/"+*e.KeyId {
					t.Errorf("KeyArn = %s", *e.KeyArn)
				}
			}
			if out.Truncated != (page == 0) || (out.NextMarker != nil) != out.Truncated {
				t.Fatalf("page %d: Truncated = %v, NextMarker = %v", page, out.Truncated, out.NextMarker)
			}
			if !out.Truncated {
				break
			}
			marker = out.NextMarker
		}
		if !slices.Equal(listed, ids) {
			t.Errorf("ListKeys = %v, want %v", listed, ids)
		}

		out, err := api.ListAliases(t.Context(), &kms.ListAliasesInput{})
		if err != nil {
			t.Fatalf("ListAliases: %v", err)
		}
		var names []string
		for _, a := range out.Aliases {
			names = append(names, *a.AliasName)
			if *a.AliasArn != kmsARNPrefix+*a.AliasName || !aws.ToTime(a.CreationDate).Equal(kmsTestTime()) || !aws.ToTime(a.LastUpdatedDate).Equal(kmsTestTime()) {
				t.Errorf("alias entry %s: AliasArn %s, CreationDate %v, LastUpdatedDate %v", *a.AliasName, *a.AliasArn, a.CreationDate, a.LastUpdatedDate)
			}
		}
		if want := []string{"alias/a", "alias/a2", "alias/b", "alias/c"}; !slices.Equal(names, want) || out.Truncated {
			t.Errorf("ListAliases = %v (truncated %v), want %v", names, out.Truncated, want)
		}

		out, err = api.ListAliases(t.Context(), &kms.ListAliasesInput{KeyId: aws.String(kmsARNPrefix + "key/" + ids[0]), Limit: aws.Int32(1)})
		if err != nil {
			t.Fatalf("ListAliases(KeyId, Limit): %v", err)
		}
		if len(out.Aliases) != 1 || *out.Aliases[0].AliasName != "alias/a" || *out.Aliases[0].TargetKeyId != ids[0] || !out.Truncated {
			t.Fatalf("ListAliases(KeyId, Limit 1) = %+v, truncated %v", out.Aliases, out.Truncated)
		}
		out, err = api.ListAliases(t.Context(), &kms.ListAliasesInput{KeyId: &ids[0], Marker: out.NextMarker})
		if err != nil || len(out.Aliases) != 1 || *out.Aliases[0].AliasName != "alias/a2" || out.Truncated {
			t.Fatalf("ListAliases second page = %v, %v", out, err)
		}

		_, err = api.ListKeys(t.Context(), &kms.ListKeysInput{Marker: aws.String("bogus")})
		kmsWantErr[*kmstypes.InvalidMarkerException](t, err)
		_, err = api.ListKeys(t.Context(), &kms.ListKeysInput{Limit: aws.Int32(1001)})
		kmsWantCode(t, err, "ValidationException")
	})
}

// The path SES and its decryptors take: a data key under SES's encryption
// context, decrypted with the same context and the key named any way, or
// not at all.
func TestKMSDataKeyRoundTrip(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		id := *kmsCreateKey(t, api, "alias/ses-mail").KeyId
		arn := kmsARNPrefix + "key/" + id
		gen, err := api.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{
			KeyId: aws.String(kmsARNPrefix + "alias/ses-mail"), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: kmsSESContext(),
		})
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		if len(gen.Plaintext) != 32 || aws.ToString(gen.KeyId) != arn || len(gen.CiphertextBlob) == 0 {
			t.Fatalf("GenerateDataKey = %d-byte key, KeyId %s, %d-byte blob", len(gen.Plaintext), aws.ToString(gen.KeyId), len(gen.CiphertextBlob))
		}
		for _, keyID := range []*string{nil, &id, &arn, aws.String("alias/ses-mail"), aws.String(kmsARNPrefix + "alias/ses-mail")} {
			out, err := api.Decrypt(t.Context(), &kms.DecryptInput{
				CiphertextBlob: gen.CiphertextBlob, EncryptionContext: kmsSESContext(), KeyId: keyID,
			})
			if err != nil {
				t.Errorf("Decrypt(KeyId %q): %v", aws.ToString(keyID), err)
				continue
			}
			if !bytes.Equal(out.Plaintext, gen.Plaintext) || aws.ToString(out.KeyId) != arn ||
				out.EncryptionAlgorithm != kmstypes.EncryptionAlgorithmSpecSymmetricDefault {
				t.Errorf("Decrypt(KeyId %q) = %x, KeyId %s, %s", aws.ToString(keyID), out.Plaintext, aws.ToString(out.KeyId), out.EncryptionAlgorithm)
			}
		}
	})
}

// The encryption context is bound to the blob: any other context, however
// close, fails as a bad ciphertext does.
func TestKMSEncryptionContextBinding(t *testing.T) {
	edit := func(f func(m map[string]string)) map[string]string {
		m := kmsSESContext()
		f(m)
		return m
	}
	tests := []struct {
		name       string
		seal, open map[string]string
	}{
		{"wrong value", kmsSESContext(), edit(func(m map[string]string) { m["aws:ses:rule-name"] = "other" })},
		{"missing pair", kmsSESContext(), edit(func(m map[string]string) { delete(m, "kms_cmk_id") })},
		{"extra pair", kmsSESContext(), edit(func(m map[string]string) { m["extra"] = "" })},
		{"no context", kmsSESContext(), nil},
		{"context where none was", nil, map[string]string{"a": "b"}},
		{"key and value concatenated alike", map[string]string{"ab": "c"}, map[string]string{"a": "bc"}},
		{"pairs concatenated alike", map[string]string{"a": "b", "c": "d"}, map[string]string{"a": "bc", "": "d"}},
		{"key and value swapped", map[string]string{"a": "b"}, map[string]string{"b": "a"}},
	}
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		id := kmsCreateKey(t, api).KeyId
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				enc, err := api.Encrypt(t.Context(), &kms.EncryptInput{KeyId: id, Plaintext: []byte("data key"), EncryptionContext: tt.seal})
				if err != nil {
					t.Fatalf("Encrypt: %v", err)
				}
				if _, err := api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: maps.Clone(tt.seal)}); err != nil {
					t.Errorf("Decrypt with the sealing context: %v", err)
				}
				_, err = api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: tt.open})
				kmsWantErr[*kmstypes.InvalidCiphertextException](t, err)
			})
		}
	})
}

func TestKMSTamperedCiphertext(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		id := kmsCreateKey(t, api).KeyId
		gen, err := api.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: id, NumberOfBytes: aws.Int32(32), EncryptionContext: kmsSESContext()})
		if err != nil {
			t.Fatal(err)
		}
		blob := gen.CiphertextBlob
		flip := func(i int, b byte) []byte {
			c := bytes.Clone(blob)
			c[i] ^= b
			return c
		}
		tests := map[string][]byte{
			"magic":           flip(0, 0x01),
			"version":         flip(2, 0x01),
			"key id":          flip(3, 0x01), // another, unknown key id
			"key id non-hex":  flip(3, 0x40),
			"nonce":           flip(40, 0x80),
			"ciphertext":      flip(60, 0x01),
			"tag":             flip(len(blob)-1, 0x01),
			"truncated":       blob[:len(blob)-1],
			"header only":     blob[:39],
			"appended":        append(bytes.Clone(blob), 0),
			"garbage":         []byte("not a ciphertext blob at all, but long enough to pass a length check ......"),
			"AWS-shaped blob": append([]byte{0x01, 0x02, 0x02, 0x00, 0x78}, make([]byte, 180)...),
		}
		for name, b := range tests {
			t.Run(name, func(t *testing.T) {
				_, err := api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: b, EncryptionContext: kmsSESContext()})
				kmsWantErr[*kmstypes.InvalidCiphertextException](t, err)
			})
		}
	})
}

func TestKMSIncorrectKey(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		a := kmsCreateKey(t, api, "alias/a").KeyId
		b := kmsCreateKey(t, api, "alias/b").KeyId
		enc, err := api.Encrypt(t.Context(), &kms.EncryptInput{KeyId: a, Plaintext: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		for _, keyID := range []string{*b, "alias/b", kmsARNPrefix + "alias/b", kmsARNPrefix + "key/" + *b} {
			_, err := api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: aws.String(keyID)})
			kmsWantErr[*kmstypes.IncorrectKeyException](t, err)
		}
		_, err = api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: aws.String("alias/none")})
		kmsWantErr[*kmstypes.NotFoundException](t, err)
	})
}

func TestKMSDisabledKey(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		id := kmsCreateKey(t, api, "alias/k").KeyId
		enc, err := api.Encrypt(t.Context(), &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: aws.String("alias/k")}); err != nil {
			t.Fatalf("DisableKey: %v", err)
		}
		desc, err := api.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: id})
		if err != nil || desc.KeyMetadata.Enabled || desc.KeyMetadata.KeyState != kmstypes.KeyStateDisabled {
			t.Fatalf("DescribeKey of a disabled key = %+v, %v", desc.KeyMetadata, err)
		}
		_, err = api.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: id, KeySpec: kmstypes.DataKeySpecAes256})
		kmsWantErr[*kmstypes.DisabledException](t, err)
		_, err = api.GenerateDataKeyWithoutPlaintext(t.Context(), &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: id, KeySpec: kmstypes.DataKeySpecAes256})
		kmsWantErr[*kmstypes.DisabledException](t, err)
		_, err = api.Encrypt(t.Context(), &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})
		kmsWantErr[*kmstypes.DisabledException](t, err)
		_, err = api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
		kmsWantErr[*kmstypes.DisabledException](t, err)

		if _, err := api.EnableKey(t.Context(), &kms.EnableKeyInput{KeyId: id}); err != nil {
			t.Fatalf("EnableKey: %v", err)
		}
		if _, err := api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err != nil {
			t.Fatalf("Decrypt after EnableKey: %v", err)
		}
		_, err = api.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: aws.String("alias/none")})
		kmsWantErr[*kmstypes.NotFoundException](t, err)
	})
}

// SES rules name alias/aws/ses, which AWS creates on first use.
func TestKMSAWSManagedAlias(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		gen, err := api.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{
			KeyId: aws.String(kmsARNPrefix + kmsSESAlias), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: kmsSESContext(),
		})
		if err != nil {
			t.Fatalf("GenerateDataKey(alias/aws/ses) on a new KMS: %v", err)
		}
		desc, err := api.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(kmsSESAlias)})
		if err != nil {
			t.Fatalf("DescribeKey: %v", err)
		}
		m := desc.KeyMetadata
		if *m.Arn != *gen.KeyId || m.KeyManager != kmstypes.KeyManagerTypeAws || !strings.Contains(*m.Description, "SES") {
			t.Errorf("managed key: Arn %s (data key under %s), KeyManager %s, Description %q", *m.Arn, *gen.KeyId, m.KeyManager, *m.Description)
		}
		if _, err := api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: kmsSESContext(), KeyId: aws.String(kmsSESAlias)}); err != nil {
			t.Errorf("Decrypt: %v", err)
		}
		aliases, err := api.ListAliases(t.Context(), &kms.ListAliasesInput{})
		if err != nil || len(aliases.Aliases) != 1 || *aliases.Aliases[0].AliasName != kmsSESAlias || *aliases.Aliases[0].TargetKeyId != *m.KeyId {
			t.Errorf("ListAliases = %v, %v; want alias/aws/ses -> %s", aliases, err, *m.KeyId)
		}
		keys, err := api.ListKeys(t.Context(), &kms.ListKeysInput{})
		if err != nil || len(keys.Keys) != 1 {
			t.Errorf("ListKeys = %v, %v; want one key", keys, err)
		}
		// Only reserved names create keys.
		_, err = api.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String("alias/ses")})
		kmsWantErr[*kmstypes.NotFoundException](t, err)
	})
}

func TestKMSDataKeySizes(t *testing.T) {
	tests := []struct {
		name  string
		spec  kmstypes.DataKeySpec
		bytes *int32
		want  int // 0: ValidationException
	}{
		{"AES_256", kmstypes.DataKeySpecAes256, nil, 32},
		{"AES_128", kmstypes.DataKeySpecAes128, nil, 16},
		{"1 byte", "", aws.Int32(1), 1},
		{"1024 bytes", "", aws.Int32(1024), 1024},
		{"both", kmstypes.DataKeySpecAes256, aws.Int32(32), 0},
		{"neither", "", nil, 0},
		{"0 bytes", "", aws.Int32(0), 0},
		{"1025 bytes", "", aws.Int32(1025), 0},
		{"unknown spec", "AES_512", nil, 0},
	}
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		id := kmsCreateKey(t, api).KeyId
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := api.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: id, KeySpec: tt.spec, NumberOfBytes: tt.bytes})
				_, errNoPlain := api.GenerateDataKeyWithoutPlaintext(t.Context(), &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: id, KeySpec: tt.spec, NumberOfBytes: tt.bytes})
				if tt.want == 0 {
					kmsWantCode(t, err, "ValidationException")
					kmsWantCode(t, errNoPlain, "ValidationException")
					return
				}
				if err != nil || errNoPlain != nil {
					t.Fatalf("GenerateDataKey: %v; GenerateDataKeyWithoutPlaintext: %v", err, errNoPlain)
				}
				if len(out.Plaintext) != tt.want {
					t.Errorf("%d-byte data key, want %d", len(out.Plaintext), tt.want)
				}
			})
		}

		out, err := api.GenerateDataKeyWithoutPlaintext(t.Context(), &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: id, KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: kmsSESContext()})
		if err != nil {
			t.Fatalf("GenerateDataKeyWithoutPlaintext: %v", err)
		}
		if *out.KeyId != kmsARNPrefix+"key/"+*id {
			t.Errorf("KeyId = %s", *out.KeyId)
		}
		dec, err := api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: kmsSESContext()})
		if err != nil || len(dec.Plaintext) != 32 {
			t.Errorf("Decrypt of GenerateDataKeyWithoutPlaintext's blob = %d bytes, %v", len(dec.Plaintext), err)
		}
	})
}

func TestKMSEncryptLimits(t *testing.T) {
	kmsEachAPI(t, func(t *testing.T, api kmsAPI) {
		id := kmsCreateKey(t, api).KeyId
		for _, n := range []int{1, 4096} {
			plain := bytes.Repeat([]byte{'p'}, n)
			enc, err := api.Encrypt(t.Context(), &kms.EncryptInput{KeyId: id, Plaintext: plain})
			if err != nil {
				t.Fatalf("Encrypt(%d bytes): %v", n, err)
			}
			if enc.EncryptionAlgorithm != kmstypes.EncryptionAlgorithmSpecSymmetricDefault || *enc.KeyId != kmsARNPrefix+"key/"+*id {
				t.Errorf("Encrypt = %s, KeyId %s", enc.EncryptionAlgorithm, *enc.KeyId)
			}
			dec, err := api.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
			if err != nil || !bytes.Equal(dec.Plaintext, plain) {
				t.Errorf("Decrypt(%d bytes) = %d bytes, %v", n, len(dec.Plaintext), err)
			}
		}
		for _, n := range []int{0, 4097} {
			_, err := api.Encrypt(t.Context(), &kms.EncryptInput{KeyId: id, Plaintext: make([]byte, n)})
			kmsWantCode(t, err, "ValidationException")
		}
		_, err := api.Encrypt(t.Context(), &kms.EncryptInput{KeyId: id, Plaintext: []byte("x"), EncryptionAlgorithm: kmstypes.EncryptionAlgorithmSpecRsaesOaepSha256})
		kmsWantErr[*kmstypes.InvalidKeyUsageException](t, err)
		_, err = api.Encrypt(t.Context(), &kms.EncryptInput{KeyId: id, Plaintext: []byte("x"), DryRun: aws.Bool(true)})
		kmsWantErr[*kmstypes.DryRunOperationException](t, err)
	})
}

// LocalStack's tags choose a key's id and material, so tooling can seed the
// same key everywhere: a blob sealed by one KMS opens in another.
func TestKMSCustomKeyTags(t *testing.T) {
	const id = "0b5d7f8a-1c2e-4d3f-8a9b-0c1d2e3f4a5b"
	material := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	in := func() *kms.CreateKeyInput {
		return &kms.CreateKeyInput{Tags: []kmstypes.Tag{
			{TagKey: aws.String("_custom_id_"), TagValue: aws.String(id)},
			{TagKey: aws.String("_custom_key_material_"), TagValue: aws.String(material)},
			{TagKey: aws.String("team"), TagValue: aws.String("mail")},
		}}
	}
	seal, open := kmsNew(t), kmsServe(t, kmsNew(t))
	for _, api := range []kmsAPI{seal, open} {
		out, err := api.CreateKey(t.Context(), in())
		if err != nil || *out.KeyMetadata.KeyId != id {
			t.Fatalf("CreateKey with _custom_id_ = %v, %v", out, err)
		}
		_, err = api.CreateKey(t.Context(), in())
		kmsWantErr[*kmstypes.AlreadyExistsException](t, err)
	}
	gen, err := seal.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: kmsSESContext()})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := open.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: kmsSESContext()})
	if err != nil || !bytes.Equal(dec.Plaintext, gen.Plaintext) {
		t.Fatalf("Decrypt in another KMS with the same seeded key = %v", err)
	}
}

// Concurrent first uses of alias/aws/ses create one key, and concurrent
// use, disabling and enabling are race-free.
func TestKMSConcurrentUse(t *testing.T) {
	k := kmsNew(t, fakes.WithKMSDataDir(t.TempDir()))
	other := kmsCreateKey(t, k).KeyId
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			gen, err := k.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(kmsSESAlias), KeySpec: kmstypes.DataKeySpecAes256})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := k.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := k.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: other}); err != nil {
				t.Error(err)
			}
			k.Encrypt(t.Context(), &kms.EncryptInput{KeyId: other, Plaintext: []byte("x")}) // may find the key disabled
			if _, err := k.EnableKey(t.Context(), &kms.EnableKeyInput{KeyId: other}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	keys, err := k.ListKeys(t.Context(), &kms.ListKeysInput{})
	if err != nil || len(keys.Keys) != 2 {
		t.Fatalf("ListKeys = %v, %v; want the created key and one AWS-managed key", keys, err)
	}
}

func TestNewKMSRejectsBadAccount(t *testing.T) {
	for _, opt := range []fakes.KMSOption{fakes.WithKMSAccount("us-east-1", "12345"), fakes.WithKMSAccount("", kmsTestAccount)} {
		if _, err := fakes.NewKMS(opt); err == nil {
			t.Error("NewKMS with an invalid region or account succeeded")
		}
	}
	k := kmsNew(t, fakes.WithKMSAccount("eu-west-1", "111122223333"))
	out, err := k.CreateKey(t.Context(), nil)
	if err != nil || *out.KeyMetadata.Arn != "arn:aws:kms:eu-west-1:111122223333:key/"+*out.KeyMetadata.KeyId || *out.KeyMetadata.AWSAccountId != "111122223333" {
		t.Fatalf("CreateKey with WithKMSAccount = %v, %v", out, err)
	}
}
