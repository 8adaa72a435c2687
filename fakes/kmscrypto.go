package fakes

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"io"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Ciphertext blobs are this emulator's own format; AWS's are opaque too, so
// no client looks inside. Version 1 is
//
//	"SB" | 0x01 | key id (36 ASCII bytes) | nonce (12 bytes) | AES-256-GCM ciphertext | tag (16 bytes)
//
// sealed with the key's 256-bit material and, as additional authenticated
// data, the 39-byte header ("SB", version, key id) followed by the canonical
// encoding of the encryption context (see kmsCanonicalContext).
//
// The key id in clear makes the blob self-describing, so Decrypt needs no
// KeyId, as in AWS. Authenticating the header stops a blob from being
// relabelled to another key that shares the material (possible with the
// _custom_key_material_ tag); authenticating the context means a wrong,
// missing or extra context fails exactly like a tampered blob, with
// InvalidCiphertextException. Nonces are random: a KMS key seals one small
// data key per call, far below the 2^32 messages at which random 96-bit GCM
// nonces become a risk.
const (
	kmsBlobMagic   = "SB"
	kmsBlobVersion = 1
	kmsBlobIDLen   = 36
	kmsNonceLen    = 12
	kmsTagLen      = 16
	kmsHeaderLen   = len(kmsBlobMagic) + 1 + kmsBlobIDLen
	kmsBlobMinLen  = kmsHeaderLen + kmsNonceLen + kmsTagLen

	// AWS's limits: Encrypt takes 1 to 4096 bytes, Decrypt a blob of at most
	// 6144, GenerateDataKey 1 to 1024 bytes.
	kmsMaxPlaintext = 4096
	kmsMaxBlob      = 6144
	kmsMaxDataKey   = 1024
)

// kmsCanonicalContext encodes an encryption context so that two contexts
// encode alike only if they are equal: the number of pairs, then each pair
// in byte order of the keys as a 4-byte big-endian length and the bytes of
// the key, then the same for the value. Length prefixes make the encoding
// parse one way only, so {"ab":"c"} and {"a":"bc"}, which plain
// concatenation would both turn into "abc", differ. A nil and an empty
// context are the same, as in AWS.
func kmsCanonicalContext(dst []byte, encCtx map[string]string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(encCtx)))
	for _, name := range slices.Sorted(maps.Keys(encCtx)) {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(name)))
		dst = append(dst, name...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(encCtx[name])))
		dst = append(dst, encCtx[name]...)
	}
	return dst
}

// kmsSeal encrypts plaintext under key, bound to encCtx, with a nonce from
// nonces.
func kmsSeal(key kmsKey, nonces io.Reader, plaintext []byte, encCtx map[string]string) ([]byte, error) {
	aead, err := kmsAEAD(key)
	if err != nil {
		return nil, err
	}
	blob := make([]byte, kmsHeaderLen+kmsNonceLen, kmsBlobMinLen+len(plaintext))
	n := copy(blob, kmsBlobMagic)
	blob[n] = kmsBlobVersion
	copy(blob[n+1:], key.ID)
	nonce := blob[kmsHeaderLen:]
	if _, err := io.ReadFull(nonces, nonce); err != nil {
		return nil, kmsInternal("generate nonce: " + err.Error())
	}
	aad := kmsCanonicalContext(slices.Clip(blob[:kmsHeaderLen]), encCtx) // a copy: appending must not touch the nonce
	return aead.Seal(blob, nonce, plaintext, aad), nil
}

// kmsBlobKeyID returns the key id a blob names, or false if the blob is not
// one of ours.
func kmsBlobKeyID(blob []byte) (string, bool) {
	if len(blob) < kmsBlobMinLen || string(blob[:len(kmsBlobMagic)]) != kmsBlobMagic || blob[len(kmsBlobMagic)] != kmsBlobVersion {
		return "", false
	}
	id := string(blob[len(kmsBlobMagic)+1 : kmsHeaderLen])
	return id, kmsKeyIDPattern.MatchString(id)
}

// kmsOpen decrypts a blob that kmsBlobKeyID accepted and names key. A
// wrong context and a damaged blob fail alike, as in AWS.
func kmsOpen(key kmsKey, blob []byte, encCtx map[string]string) ([]byte, error) {
	aead, err := kmsAEAD(key)
	if err != nil {
		return nil, err
	}
	aad := kmsCanonicalContext(slices.Clip(blob[:kmsHeaderLen]), encCtx)
	plain, err := aead.Open(nil, blob[kmsHeaderLen:kmsHeaderLen+kmsNonceLen], blob[kmsHeaderLen+kmsNonceLen:], aad)
	if err != nil {
		return nil, kmsInvalidCiphertext()
	}
	return plain, nil
}

func kmsAEAD(key kmsKey) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key.Material)
	if err != nil {
		return nil, kmsInternal("key " + key.ID + ": " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, kmsInternal("key " + key.ID + ": " + err.Error())
	}
	return aead, nil
}

func kmsInvalidCiphertext() error {
	return &kmstypes.InvalidCiphertextException{Message: aws.String(
		"The ciphertext is invalid, or the encryption context does not match the one it was encrypted under.")}
}

// usableKey resolves a KeyId for a cryptographic operation: the key must
// exist (AWS-managed aliases are created on first use) and be enabled.
func (k *KMS) usableKey(keyID string) (kmsKey, error) {
	key, err := k.findKey(keyID, true)
	if err != nil {
		return kmsKey{}, err
	}
	if !key.Enabled {
		return kmsKey{}, k.disabled(key)
	}
	return key, nil
}

func (k *KMS) disabled(key kmsKey) error {
	return &kmstypes.DisabledException{Message: aws.String(k.keyARN(key.ID) + " is disabled.")}
}

func kmsDryRun() error {
	return &kmstypes.DryRunOperationException{Message: aws.String("The request would have succeeded, but the DryRun option is set.")}
}

// kmsCheckAlgorithm accepts the only algorithm a symmetric key has.
func kmsCheckAlgorithm(alg kmstypes.EncryptionAlgorithmSpec) error {
	switch {
	case alg == "" || alg == kmstypes.EncryptionAlgorithmSpecSymmetricDefault:
		return nil
	case slices.Contains(alg.Values(), alg):
		return &kmstypes.InvalidKeyUsageException{Message: aws.String(
			"The encryption algorithm " + string(alg) + " is not compatible with the key spec SYMMETRIC_DEFAULT")}
	}
	return kmsEnumError("encryptionAlgorithm", string(alg))
}

// kmsDataKeySize checks GenerateDataKey's KeySpec and NumberOfBytes, of
// which exactly one must be given, and returns the data key's size.
func kmsDataKeySize(spec kmstypes.DataKeySpec, numberOfBytes *int32) (int, error) {
	switch {
	case spec != "" && numberOfBytes != nil:
		return 0, kmsValidationError("Please specify either number of bytes or key spec.")
	case spec == kmstypes.DataKeySpecAes256:
		return 32, nil
	case spec == kmstypes.DataKeySpecAes128:
		return 16, nil
	case spec != "":
		return 0, kmsEnumError("keySpec", string(spec))
	case numberOfBytes == nil:
		return 0, kmsValidationError("Please specify either number of bytes or key spec.")
	case *numberOfBytes < 1 || *numberOfBytes > kmsMaxDataKey:
		return 0, kmsValidationError("1 validation error detected: Value at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024")
	}
	return int(*numberOfBytes), nil
}

// GenerateDataKey returns a new random data key in plaintext and encrypted
// under the KMS key, bound to the encryption context. KeyId in the output
// is the key's ARN.
func (k *KMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	if in == nil {
		in = &kms.GenerateDataKeyInput{}
	}
	plain, blob, key, err := k.generateDataKey(in.KeyId, in.KeySpec, in.NumberOfBytes, in.EncryptionContext, in.DryRun)
	if err != nil {
		return nil, err
	}
	return &kms.GenerateDataKeyOutput{Plaintext: plain, CiphertextBlob: blob, KeyId: aws.String(k.keyARN(key.ID))}, nil
}

// GenerateDataKeyWithoutPlaintext is GenerateDataKey without the plaintext
// data key in the output.
func (k *KMS) GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	if in == nil {
		in = &kms.GenerateDataKeyWithoutPlaintextInput{}
	}
	plain, blob, key, err := k.generateDataKey(in.KeyId, in.KeySpec, in.NumberOfBytes, in.EncryptionContext, in.DryRun)
	if err != nil {
		return nil, err
	}
	clear(plain)
	return &kms.GenerateDataKeyWithoutPlaintextOutput{CiphertextBlob: blob, KeyId: aws.String(k.keyARN(key.ID))}, nil
}

func (k *KMS) generateDataKey(keyID *string, spec kmstypes.DataKeySpec, numberOfBytes *int32, encCtx map[string]string, dryRun *bool) (plain, blob []byte, key kmsKey, err error) {
	n, err := kmsDataKeySize(spec, numberOfBytes)
	if err != nil {
		return nil, nil, kmsKey{}, err
	}
	if key, err = k.usableKey(aws.ToString(keyID)); err != nil {
		return nil, nil, kmsKey{}, err
	}
	if aws.ToBool(dryRun) {
		return nil, nil, kmsKey{}, kmsDryRun()
	}
	plain = make([]byte, n)
	if _, err := io.ReadFull(k.rand, plain); err != nil {
		return nil, nil, kmsKey{}, kmsInternal("generate data key: " + err.Error())
	}
	if blob, err = kmsSeal(key, k.rand, plain, encCtx); err != nil {
		clear(plain)
		return nil, nil, kmsKey{}, err
	}
	return plain, blob, key, nil
}

// Encrypt encrypts 1 to 4096 bytes under a key, bound to the encryption
// context.
func (k *KMS) Encrypt(ctx context.Context, in *kms.EncryptInput, _ ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	if in == nil {
		in = &kms.EncryptInput{}
	}
	if len(in.Plaintext) < 1 || len(in.Plaintext) > kmsMaxPlaintext {
		return nil, kmsValidationError("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	if err := kmsCheckAlgorithm(in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	key, err := k.usableKey(aws.ToString(in.KeyId))
	if err != nil {
		return nil, err
	}
	if aws.ToBool(in.DryRun) {
		return nil, kmsDryRun()
	}
	blob, err := kmsSeal(key, k.rand, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &kms.EncryptOutput{CiphertextBlob: blob, KeyId: aws.String(k.keyARN(key.ID)),
		EncryptionAlgorithm: kmstypes.EncryptionAlgorithmSpecSymmetricDefault}, nil
}

// Decrypt decrypts a ciphertext blob under the encryption context it was
// sealed with. The blob names its key, so KeyId is optional; when given, in
// any form, it must name that key, or Decrypt fails with
// IncorrectKeyException.
func (k *KMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	if in == nil {
		in = &kms.DecryptInput{}
	}
	if len(in.CiphertextBlob) < 1 || len(in.CiphertextBlob) > kmsMaxBlob {
		return nil, kmsValidationError("1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144")
	}
	if err := kmsCheckAlgorithm(in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	if in.Recipient != nil {
		return nil, kmsUnsupported("the embedded KMS does not support Nitro Enclaves recipients")
	}
	blobKeyID, ok := kmsBlobKeyID(in.CiphertextBlob)
	if !ok {
		return nil, kmsInvalidCiphertext()
	}
	if want := aws.ToString(in.KeyId); want != "" {
		named, err := k.findKey(want, false)
		if err != nil {
			return nil, err
		}
		if named.ID != blobKeyID {
			return nil, &kmstypes.IncorrectKeyException{Message: aws.String(
				"The key ID in the request does not identify a CMK that can perform this operation.")}
		}
	}
	key, err := k.findKey(blobKeyID, false)
	if kmsIsNotFound(err) {
		return nil, kmsInvalidCiphertext() // sealed by another KMS
	}
	if err != nil {
		return nil, err
	}
	if !key.Enabled {
		return nil, k.disabled(key)
	}
	if aws.ToBool(in.DryRun) {
		return nil, kmsDryRun()
	}
	plain, err := kmsOpen(key, in.CiphertextBlob, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &kms.DecryptOutput{Plaintext: plain, KeyId: aws.String(k.keyARN(key.ID)),
		EncryptionAlgorithm: kmstypes.EncryptionAlgorithmSpecSymmetricDefault}, nil
}
