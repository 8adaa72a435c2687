package encrypt_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sesinbound/sesinbound/encrypt"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// stubKMS hands out one fixed data key whose "ciphertext blob" records the
// context, and decrypts only with exactly that context, as KMS does.
type stubKMS struct {
	key      []byte
	lastKey  []byte // the plaintext slice handed to the caller
	keyID    string
	contexts []map[string]string
}

func (k *stubKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	if in.KeySpec != kmstypes.DataKeySpecAes256 {
		return nil, fmt.Errorf("KeySpec %q, want AES_256", in.KeySpec)
	}
	k.keyID = aws.ToString(in.KeyId)
	k.contexts = append(k.contexts, in.EncryptionContext)
	ctxJSON, _ := json.Marshal(in.EncryptionContext)
	k.lastKey = bytes.Clone(k.key)
	return &kms.GenerateDataKeyOutput{Plaintext: k.lastKey, CiphertextBlob: append([]byte("blob:"), ctxJSON...), KeyId: in.KeyId}, nil
}

func (k *stubKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	ctxJSON, _ := json.Marshal(in.EncryptionContext)
	if !bytes.Equal(in.CiphertextBlob, append([]byte("blob:"), ctxJSON...)) {
		return nil, &kmstypes.InvalidCiphertextException{Message: aws.String("context mismatch")}
	}
	return &kms.DecryptOutput{Plaintext: bytes.Clone(k.key)}, nil
}

type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

func sesContext() map[string]string {
	return map[string]string{
		"aws:ses:message-id":     "lhne4tbq09c867b1ko1f3ho4fqfidcatruo26781",
		"aws:ses:rule-name":      "encrypt-to-s3",
		"aws:ses:source-account": "111122223333",
		"kms_cmk_id":             "arn:aws:kms:us-east-1:111122223333:alias/aws/ses",
	}
}

func newStub() *stubKMS {
	return &stubKMS{key: bytes.Repeat([]byte{0x42}, 32)}
}

func TestSealGolden(t *testing.T) {
	k := newStub()
	s := &encrypt.Sealer{KMS: k, Rand: &counter{}}
	env, err := s.Seal(t.Context(), "arn:aws:kms:us-east-1:111122223333:alias/aws/ses", sesContext(), nil, []byte("Subject: golden\r\n\r\nhello\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(env.Metadata)) {
		fmt.Fprintf(&b, "x-amz-meta-%s: %s\n", key, env.Metadata[key])
	}
	fmt.Fprintf(&b, "body: %s\n", base64.StdEncoding.EncodeToString(env.Body))
	got := b.String()
	const path = "testdata/seal.golden"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("Seal output changed:\n%s\nwant:\n%s", got, want)
	}
}

// The metadata has exactly the shape of the SES-written sample kept in the
// official .NET S3 Encryption Client's tests (AesGcmDecryptUsingMetadata).
func TestSealMatchesSESSample(t *testing.T) {
	sample := map[string]string{
		"x-amz-key-v2":                     "AQIDAHgN94fUlYO17HEeDorBZENwiXuQ3swljPjtZVKT/lVftAHJVBJhXNH02aAWuPsxxBo5AAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMvq8jOYujNpL+coHxAgEQgDsRyJ3hFidKl5hw208WxBcNPCnlFmHyQ36HEewuORCoqGIor4uuhe3mcmVdGv2e5qob3Ju/C4hC3Ekpvg==",
		"x-amz-iv":                         "NUhrJ+0LoGyof/dj",
		"x-amz-cek-alg":                    "AES/GCM/NoPadding",
		"x-amz-wrap-alg":                   "kms",
		"x-amz-tag-len":                    "128",
		"x-amz-matdesc":                    `{"aws:ses:message-id":"lhne4tbq09c867b1ko1f3ho4fqfidcatruo26781","aws:ses:rule-name":"encrypt-to-s3","aws:ses:source-account":"111122223333","kms_cmk_id":"arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}`,
		"x-amz-unencrypted-content-length": "3946",
	}
	plain := bytes.Repeat([]byte("x"), 3946)
	env, err := (&encrypt.Sealer{KMS: newStub()}).Seal(t.Context(), "arn:aws:kms:us-east-1:111122223333:alias/aws/ses", sesContext(), nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(env.Metadata)), slices.Sorted(maps.Keys(sample)); !slices.Equal(got, want) {
		t.Fatalf("metadata keys = %v, want %v", got, want)
	}
	for _, k := range []string{"x-amz-cek-alg", "x-amz-wrap-alg", "x-amz-tag-len", "x-amz-matdesc", "x-amz-unencrypted-content-length"} {
		if env.Metadata[k] != sample[k] {
			t.Errorf("%s = %q, want %q", k, env.Metadata[k], sample[k])
		}
	}
	iv, err := base64.StdEncoding.DecodeString(env.Metadata["x-amz-iv"])
	if err != nil || len(iv) != 12 {
		t.Errorf("x-amz-iv = %q: want base64 of 12 bytes", env.Metadata["x-amz-iv"])
	}
	if len(env.Body) != len(plain)+16 {
		t.Errorf("body is %d bytes, want plaintext + 16-byte tag = %d", len(env.Body), len(plain)+16)
	}
}

func TestSealSendsContextToKMS(t *testing.T) {
	k := newStub()
	if _, err := (&encrypt.Sealer{KMS: k}).Seal(t.Context(), "arn:aws:kms:us-east-1:111122223333:alias/aws/ses", sesContext(), nil, []byte("m")); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(k.contexts[0], sesContext()) || k.keyID != "arn:aws:kms:us-east-1:111122223333:alias/aws/ses" {
		t.Fatalf("GenerateDataKey(%s, %v)", k.keyID, k.contexts[0])
	}
}

func TestSealWipesDataKey(t *testing.T) {
	k := newStub()
	if _, err := (&encrypt.Sealer{KMS: k}).Seal(t.Context(), "k", sesContext(), nil, []byte("m")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.lastKey, make([]byte, 32)) {
		t.Fatalf("the plaintext data key was not wiped: %x", k.lastKey)
	}
}

func TestSealInPlace(t *testing.T) {
	buf := make([]byte, 1000, 1000+encrypt.TagSize)
	for i := range buf {
		buf[i] = byte(i)
	}
	plain := bytes.Clone(buf)
	k := newStub()
	env, err := (&encrypt.Sealer{KMS: k}).Seal(t.Context(), "k", sesContext(), buf[:0], buf)
	if err != nil {
		t.Fatal(err)
	}
	if &env.Body[0] != &buf[0] {
		t.Fatalf("Seal(buf[:0], buf) allocated a new buffer")
	}
	got, err := encrypt.Open(t.Context(), k, env.Metadata, env.Body)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open() = %v, equal %v", err, bytes.Equal(got, plain))
	}
}

// NewKey may fail and be retried without touching the plaintext; Seal
// cannot fail, and a Key seals one message only.
func TestKeySealsOnce(t *testing.T) {
	k := newStub()
	s := &encrypt.Sealer{KMS: k}
	if _, err := s.NewKey(t.Context(), "k", sesContext(), encrypt.Variant("no-such-variant")); err == nil {
		t.Fatal("NewKey with an unknown variant succeeded")
	}
	key, err := s.NewKey(t.Context(), "k", sesContext(), encrypt.VariantSES)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("Subject: once\r\n\r\nbody\r\n")
	env := key.Seal(nil, plain)
	if got, err := encrypt.Open(t.Context(), k, env.Metadata, env.Body); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open() = %q, %v", got, err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second Seal with the same key and IV did not panic")
		}
	}()
	key.Seal(nil, plain)
}

func TestOpen(t *testing.T) {
	k := newStub()
	plain := []byte("Subject: x\r\n\r\nbody\r\n")
	env, err := (&encrypt.Sealer{KMS: k}).Seal(t.Context(), "k", sesContext(), nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(m map[string]string)) map[string]string {
		m := maps.Clone(env.Metadata)
		f(m)
		return m
	}
	tampered := bytes.Clone(env.Body)
	tampered[len(tampered)-1] ^= 1
	canonical := map[string]string{}
	for key, v := range env.Metadata { // some servers return canonical MIME case
		canonical[strings.ToUpper(key[:1])+key[1:]] = v
	}
	for _, tt := range []struct {
		name    string
		meta    map[string]string
		body    []byte
		wantErr string
	}{
		{"round trip", env.Metadata, env.Body, ""},
		{"keys in another case", canonical, env.Body, ""},
		{"tampered tag", env.Metadata, tampered, "message authentication failed"},
		{"tampered context", with(func(m map[string]string) {
			m["x-amz-matdesc"] = strings.Replace(m["x-amz-matdesc"], "encrypt-to-s3", "other-rule", 1)
		}), env.Body, "InvalidCiphertextException"},
		{"no kms_cmk_id", with(func(m map[string]string) {
			m["x-amz-matdesc"] = `{"aws:ses:rule-name":"encrypt-to-s3"}`
		}), env.Body, "no kms_cmk_id"},
		{"wrong IV length", with(func(m map[string]string) { m["x-amz-iv"] = "AAAA" }), env.Body, "IV is 3 bytes"},
		{"not encrypted", map[string]string{}, env.Body, encrypt.ErrNotEncrypted.Error()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encrypt.Open(t.Context(), k, tt.meta, tt.body)
			if tt.wantErr == "" {
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("Open() = %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMaterialDescription(t *testing.T) {
	got, err := encrypt.MaterialDescription(map[string]string{"b": "<&>", "a": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"1","b":"<&>"}`; got != want {
		t.Fatalf("MaterialDescription() = %s, want %s", got, want)
	}
}

func TestSealVariants(t *testing.T) {
	for _, tt := range []struct {
		v       encrypt.Variant
		wantErr string // from Open, our reference reader
		check   func(t *testing.T, env *encrypt.Envelope, k *stubKMS)
	}{
		{encrypt.VariantCorruptTag, "message authentication failed", nil},
		{encrypt.VariantNoCMKID, "no kms_cmk_id", func(t *testing.T, env *encrypt.Envelope, k *stubKMS) {
			if _, ok := k.contexts[0]["kms_cmk_id"]; ok || strings.Contains(env.Metadata["x-amz-matdesc"], "kms_cmk_id") {
				t.Errorf("kms_cmk_id still present")
			}
		}},
		{encrypt.VariantKMSContext, "", func(t *testing.T, env *encrypt.Envelope, k *stubKMS) {
			if env.Metadata["x-amz-wrap-alg"] != "kms+context" || k.contexts[0]["aws:x-amz-cek-alg"] != "AES/GCM/NoPadding" ||
				!strings.Contains(env.Metadata["x-amz-matdesc"], `"aws:x-amz-cek-alg":"AES/GCM/NoPadding"`) {
				t.Errorf("kms+context envelope = %v, context %v", env.Metadata, k.contexts[0])
			}
		}},
		{encrypt.VariantNoUnencryptedSize, "", func(t *testing.T, env *encrypt.Envelope, _ *stubKMS) {
			if _, ok := env.Metadata["x-amz-unencrypted-content-length"]; ok {
				t.Errorf("x-amz-unencrypted-content-length still present")
			}
		}},
		{encrypt.VariantWrongIVLength, "IV is 16 bytes", nil},
		{"no-such-variant", "unknown", nil},
	} {
		t.Run(string(tt.v), func(t *testing.T) {
			k := newStub()
			env, err := (&encrypt.Sealer{KMS: k}).SealVariant(t.Context(), "k", sesContext(), nil, []byte("Subject: v\r\n\r\nv\r\n"), tt.v)
			if err != nil {
				if tt.wantErr != "" && strings.Contains(err.Error(), tt.wantErr) {
					return
				}
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, env, k)
			}
			_, err = encrypt.Open(t.Context(), k, env.Metadata, env.Body)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Open() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
