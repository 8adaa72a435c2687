package encrypt

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// S3 user-metadata keys of the envelope, without the x-amz-meta- prefix that
// S3 adds on the wire.
const (
	MetaKeyV2             = "x-amz-key-v2"
	MetaIV                = "x-amz-iv"
	MetaCEKAlg            = "x-amz-cek-alg"
	MetaWrapAlg           = "x-amz-wrap-alg"
	MetaTagLen            = "x-amz-tag-len"
	MetaMatDesc           = "x-amz-matdesc"
	MetaUnencryptedLength = "x-amz-unencrypted-content-length"
)

// Values SES writes, and the one other wrap a reader may meet.
const (
	CEKAlgAESGCM      = "AES/GCM/NoPadding"
	WrapAlgKMS        = "kms"         // legacy S3EC v1 wrap: what SES writes
	WrapAlgKMSContext = "kms+context" // S3EC v2 wrap: context carries aws:x-amz-cek-alg
	TagLenBits        = "128"

	// ContextKeyCMKID is the material-description entry that names the KMS
	// key. SES includes it in the encryption context too: decryptors send the
	// whole material description as the context, and aws-sdk-go's s3crypto
	// refuses an object without it (MissingCMKIDError).
	ContextKeyCMKID = "kms_cmk_id"

	// ContextKeyCEKAlg is added to the context by the kms+context wrap only.
	ContextKeyCEKAlg = "aws:x-amz-cek-alg"
)

const (
	ivSize  = 12
	tagSize = 16
	keySize = 32
)

// TagSize is the number of bytes Seal appends to the plaintext.
const TagSize = tagSize

// KMS is the part of the AWS KMS API that Sealer uses; *kms.Client and
// *fakes.KMS satisfy it.
type KMS interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
}

// Decrypter is the part of the AWS KMS API that Open uses.
type Decrypter interface {
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Sealer encrypts messages under a fresh KMS data key per message.
type Sealer struct {
	KMS KMS
	// Rand is the IV source; nil means crypto/rand.Reader. Messages are
	// sealed concurrently, so it must be safe for concurrent use (lock a
	// deterministic test reader).
	Rand io.Reader
}

// Envelope is an encrypted object as it goes to S3.
type Envelope struct {
	// Body is the AES-GCM ciphertext with the 16-byte tag appended.
	Body []byte
	// Metadata holds the seven S3EC entries, keyed by the Meta* constants.
	Metadata map[string]string
}

// Variant is an envelope that differs from SES's on purpose, for decryptor
// authors to test their failure and compatibility paths.
type Variant string

// Envelope variants. VariantSES is what SES writes.
const (
	VariantSES               Variant = ""
	VariantCorruptTag        Variant = "corrupt-tag"           // the GCM tag does not authenticate
	VariantNoCMKID           Variant = "no-kms-cmk-id"         // matdesc and context lack kms_cmk_id
	VariantKMSContext        Variant = "kms+context"           // S3EC v2's wrap: aws:x-amz-cek-alg joins the context
	VariantNoUnencryptedSize Variant = "no-unencrypted-length" // x-amz-unencrypted-content-length left out
	VariantWrongIVLength     Variant = "wrong-iv-length"       // a 16-byte IV instead of 12
)

// Variants returns the variants other than VariantSES, in a new slice.
func Variants() []Variant {
	return []Variant{VariantCorruptTag, VariantNoCMKID, VariantKMSContext, VariantNoUnencryptedSize, VariantWrongIVLength}
}

// Seal encrypts plaintext under a new data key from KMS key keyID, bound to
// encCtx, and returns the ciphertext appended to dst with the S3 metadata a
// reader needs. As with cipher.AEAD, pass plaintext[:0] as dst to encrypt in
// place; that needs TagSize bytes of spare capacity to avoid a copy.
//
// The material description is encCtx itself, so encCtx must hold everything a
// decryptor has to send back to KMS (for SES, kms_cmk_id included).
func (s *Sealer) Seal(ctx context.Context, keyID string, encCtx map[string]string, dst, plaintext []byte) (*Envelope, error) {
	return s.SealVariant(ctx, keyID, encCtx, dst, plaintext, VariantSES)
}

// SealVariant is Seal writing the envelope variant v.
func (s *Sealer) SealVariant(ctx context.Context, keyID string, encCtx map[string]string, dst, plaintext []byte, v Variant) (*Envelope, error) {
	k, err := s.NewKey(ctx, keyID, encCtx, v)
	if err != nil {
		return nil, err
	}
	return k.Seal(dst, plaintext), nil
}

// A Key is a fresh data key, ready to seal one message: everything that
// can fail (the KMS call, the IV, the cipher) is behind it, and sealing
// cannot. That is what makes encrypting in place safe: a caller retries
// NewKey as often as it likes, and the plaintext is overwritten once, by a
// Seal that always succeeds.
type Key struct {
	gcm  cipher.AEAD
	iv   []byte
	meta map[string]string
	v    Variant
}

// NewKey asks KMS for a data key under key keyID bound to encCtx, for the
// envelope variant v. The plaintext data key is wiped before NewKey
// returns; only the cipher built from it is kept.
func (s *Sealer) NewKey(ctx context.Context, keyID string, encCtx map[string]string, v Variant) (*Key, error) {
	wrapAlg, ivLen := WrapAlgKMS, ivSize
	switch v {
	case VariantSES, VariantCorruptTag, VariantNoUnencryptedSize:
	case VariantNoCMKID:
		encCtx = maps.Clone(encCtx)
		delete(encCtx, ContextKeyCMKID)
	case VariantKMSContext:
		encCtx = maps.Clone(encCtx)
		encCtx[ContextKeyCEKAlg] = CEKAlgAESGCM
		wrapAlg = WrapAlgKMSContext
	case VariantWrongIVLength:
		ivLen = 16
	default:
		return nil, fmt.Errorf("envelope variant %q is unknown", v)
	}
	matdesc, err := MaterialDescription(encCtx)
	if err != nil {
		return nil, err
	}
	dk, err := s.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(keyID),
		KeySpec:           kmstypes.DataKeySpecAes256,
		EncryptionContext: encCtx,
	})
	if err != nil {
		return nil, fmt.Errorf("generate data key %s: %w", keyID, err)
	}
	// SES "removes the plaintext data key from memory as soon as possible
	// after use"; so do we. The AES key schedule inside the cipher.Block is
	// out of reach; it lives as long as the Key.
	defer clear(dk.Plaintext)
	if len(dk.Plaintext) != keySize {
		return nil, fmt.Errorf("generate data key %s: got a %d-byte key, want %d", keyID, len(dk.Plaintext), keySize)
	}
	if len(dk.CiphertextBlob) == 0 {
		return nil, fmt.Errorf("generate data key %s: empty ciphertext blob", keyID)
	}
	iv := make([]byte, ivLen)
	if _, err := io.ReadFull(s.rand(), iv); err != nil {
		return nil, fmt.Errorf("generate iv: %w", err)
	}
	gcm, err := newGCMWithNonce(dk.Plaintext, ivLen)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{
		MetaKeyV2:   base64.StdEncoding.EncodeToString(dk.CiphertextBlob),
		MetaIV:      base64.StdEncoding.EncodeToString(iv),
		MetaCEKAlg:  CEKAlgAESGCM,
		MetaWrapAlg: wrapAlg,
		MetaTagLen:  TagLenBits,
		MetaMatDesc: matdesc,
	}
	return &Key{gcm: gcm, iv: iv, meta: meta, v: v}, nil
}

// Seal encrypts plaintext, appending the ciphertext to dst, and returns it
// with the S3 metadata a reader needs. As with cipher.AEAD, pass
// plaintext[:0] as dst to encrypt in place; that needs TagSize bytes of
// spare capacity to avoid a copy. A Key seals one message: a second call
// would reuse the IV under the same key, so it panics.
func (k *Key) Seal(dst, plaintext []byte) *Envelope {
	if k.gcm == nil {
		panic("encrypt: Key.Seal called twice; a data key and IV seal one message")
	}
	n := len(plaintext)
	// SES's objects authenticate no additional data: every decryptor
	// (Ruby's sets auth_data = "") opens them with an empty AAD.
	body := k.gcm.Seal(dst, k.iv, plaintext, nil)
	k.gcm = nil
	meta := k.meta
	meta[MetaUnencryptedLength] = strconv.Itoa(n)
	switch k.v {
	case VariantCorruptTag:
		body[len(body)-1] ^= 0x01
	case VariantNoUnencryptedSize:
		delete(meta, MetaUnencryptedLength)
	}
	return &Envelope{Body: body, Metadata: meta}
}

func (s *Sealer) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// MaterialDescription returns encCtx as SES writes it in x-amz-matdesc:
// compact JSON with the keys in ascending order and no HTML escaping.
func MaterialDescription(encCtx map[string]string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(encCtx); err != nil { // map keys are sorted by encoding/json
		return "", fmt.Errorf("encode material description: %w", err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

func newGCM(key []byte) (cipher.AEAD, error) { return newGCMWithNonce(key, ivSize) }

func newGCMWithNonce(key []byte, nonceSize int) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("new aes cipher: %w", err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, nonceSize)
	if err != nil {
		return nil, fmt.Errorf("new gcm: %w", err)
	}
	return gcm, nil
}

// ErrNotEncrypted is returned by Open for an object without envelope
// metadata.
var ErrNotEncrypted = errors.New("object has no S3 encryption client metadata")

// IsEnvelope reports whether metadata (keys without the x-amz-meta- prefix,
// any case) describes an S3 Encryption Client object.
func IsEnvelope(metadata map[string]string) bool {
	_, ok := lookup(metadata, MetaKeyV2)
	return ok
}

// Open decrypts an object written by Seal (or by SES, or by an S3EC v2 client
// using the kms+context wrap) and returns the plaintext. It calls KMS Decrypt
// with the material description as the encryption context, as every official
// decryptor does, and sends no KeyId, so the ciphertext blob chooses the key.
func Open(ctx context.Context, kmsc Decrypter, metadata map[string]string, body []byte) ([]byte, error) {
	get := func(k string) (string, error) {
		v, ok := lookup(metadata, k)
		if !ok {
			return "", fmt.Errorf("open envelope: metadata %s is missing", k)
		}
		return v, nil
	}
	keyB64, err := get(MetaKeyV2)
	if err != nil {
		if !IsEnvelope(metadata) {
			return nil, ErrNotEncrypted
		}
		return nil, err
	}
	var vals [5]string
	for i, k := range []string{MetaIV, MetaCEKAlg, MetaWrapAlg, MetaMatDesc, MetaTagLen} {
		if vals[i], err = get(k); err != nil {
			return nil, err
		}
	}
	ivB64, cekAlg, wrapAlg, matdesc, tagLen := vals[0], vals[1], vals[2], vals[3], vals[4]
	if cekAlg != CEKAlgAESGCM {
		return nil, fmt.Errorf("open envelope: content algorithm %q is not supported", cekAlg)
	}
	if tagLen != TagLenBits {
		return nil, fmt.Errorf("open envelope: tag length %q is not supported", tagLen)
	}
	var encCtx map[string]string
	if err := json.Unmarshal([]byte(matdesc), &encCtx); err != nil {
		return nil, fmt.Errorf("open envelope: material description: %w", err)
	}
	switch wrapAlg {
	case WrapAlgKMS:
		if _, ok := encCtx[ContextKeyCMKID]; !ok {
			return nil, fmt.Errorf("open envelope: material description has no %s", ContextKeyCMKID)
		}
	case WrapAlgKMSContext:
		if encCtx[ContextKeyCEKAlg] != cekAlg {
			return nil, fmt.Errorf("open envelope: %s in the material description does not match %s", ContextKeyCEKAlg, MetaCEKAlg)
		}
	default:
		return nil, fmt.Errorf("open envelope: wrap algorithm %q is not supported", wrapAlg)
	}
	blob, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		return nil, fmt.Errorf("open envelope: %s: %w", MetaKeyV2, err)
	}
	iv, err := base64.StdEncoding.DecodeString(ivB64)
	if err != nil {
		return nil, fmt.Errorf("open envelope: %s: %w", MetaIV, err)
	}
	if len(iv) != ivSize {
		return nil, fmt.Errorf("open envelope: IV is %d bytes, want %d", len(iv), ivSize)
	}
	out, err := kmsc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: encCtx})
	if err != nil {
		return nil, fmt.Errorf("decrypt data key: %w", err)
	}
	defer clear(out.Plaintext)
	gcm, err := newGCM(out.Plaintext)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, iv, body, nil)
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w", err)
	}
	if n, ok := lookup(metadata, MetaUnencryptedLength); ok && n != strconv.Itoa(len(plain)) {
		return nil, fmt.Errorf("open envelope: plaintext is %d bytes, metadata says %s", len(plain), n)
	}
	return plain, nil
}

// lookup finds k in S3 metadata whose keys may come back in canonical MIME
// case from some servers (MinIO, gofakes3).
func lookup(m map[string]string, k string) (string, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return "", false
}
