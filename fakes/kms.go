package fakes

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// KMS is an in-process AWS KMS with symmetric keys only. Its methods have
// the signatures of *kms.Client; ServeHTTP speaks the KMS JSON 1.1 protocol.
//
// Ciphertext blobs are self-describing, so Decrypt needs no KeyId, and bind
// the encryption context as AES-GCM additional data, so a wrong context
// fails with InvalidCiphertextException as in AWS. The format is this
// emulator's own (real AWS blobs are opaque too):
//
//	0x01 | key id (36 ASCII bytes) | 12-byte nonce | AES-256-GCM(key material, plaintext) with tag
//
// with additional data = "sesinbound-kms-v1" | key id | canonical context,
// where the canonical context is the number of entries and then each key and
// value in sorted order, every one length-prefixed (uvarint). Unlike plain
// key+value concatenation, {"ab":"c"} and {"a":"bc"} cannot collide.
type KMS struct {
	cfg kmsConfig

	mu      sync.RWMutex
	keys    map[string]*kmsKey   // by key id
	aliases map[string]*kmsAlias // by alias name ("alias/x")
	order   []string             // key ids in creation order, for ListKeys
	store   *kmsStore            // nil in memory-only mode
}

type kmsConfig struct {
	dataDir string
	region  string
	account string
	rand    io.Reader
	now     func() time.Time
}

// KMSOption configures a KMS.
type KMSOption func(*kmsConfig)

// WithKMSDataDir persists keys and aliases under dir; "" keeps them in
// memory only.
func WithKMSDataDir(dir string) KMSOption { return func(c *kmsConfig) { c.dataDir = dir } }

// WithKMSAccount sets the region and account that key ARNs name.
func WithKMSAccount(region, accountID string) KMSOption {
	return func(c *kmsConfig) { c.region, c.account = region, accountID }
}

// WithKMSRand sets the source of key material, data keys and nonces.
func WithKMSRand(r io.Reader) KMSOption { return func(c *kmsConfig) { c.rand = r } }

// WithKMSClock sets the clock for creation dates.
func WithKMSClock(now func() time.Time) KMSOption { return func(c *kmsConfig) { c.now = now } }

type kmsKey struct {
	ID          string    `json:"id"`
	Material    []byte    `json:"material"`
	Description string    `json:"description"`
	Enabled     bool      `json:"enabled"`
	Created     time.Time `json:"created"`
	Manager     string    `json:"manager"` // CUSTOMER or AWS
}

type kmsAlias struct {
	Name    string    `json:"name"`
	Target  string    `json:"target"`
	Created time.Time `json:"created"`
}

// NewKMS returns a KMS, loading its keys from the data directory if one is
// set.
func NewKMS(opts ...KMSOption) (*KMS, error) {
	k := &KMS{
		cfg:     kmsConfig{region: "us-east-1", account: "000000000000", rand: rand.Reader, now: time.Now},
		keys:    map[string]*kmsKey{},
		aliases: map[string]*kmsAlias{},
	}
	for _, o := range opts {
		o(&k.cfg)
	}
	if k.cfg.dataDir != "" {
		st, keys, aliases, err := openKMSStore(k.cfg.dataDir)
		if err != nil {
			return nil, err
		}
		k.store = st
		for _, key := range keys {
			k.keys[key.ID] = key
			k.order = append(k.order, key.ID)
		}
		for _, a := range aliases {
			k.aliases[a.Name] = a
		}
	}
	return k, nil
}

// Close releases the KMS. Every change is already on disk.
func (k *KMS) Close() error { return nil }

func (k *KMS) keyARN(id string) string {
	return "arn:aws:kms:" + k.cfg.region + ":" + k.cfg.account + ":key/" + id
}

func (k *KMS) aliasARN(name string) string {
	return "arn:aws:kms:" + k.cfg.region + ":" + k.cfg.account + ":" + name
}

var keyIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (k *KMS) newKeyID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(k.cfg.rand, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// persist writes keys and aliases durably; the caller holds k.mu.
func (k *KMS) persist() error {
	if k.store == nil {
		return nil
	}
	keys := make([]*kmsKey, 0, len(k.order))
	for _, id := range k.order {
		keys = append(keys, k.keys[id])
	}
	aliases := make([]*kmsAlias, 0, len(k.aliases))
	for _, name := range slices.Sorted(maps.Keys(k.aliases)) {
		aliases = append(aliases, k.aliases[name])
	}
	if err := k.store.save(keys, aliases); err != nil {
		return &kmstypes.KMSInternalException{Message: aws.String("persist keys: " + err.Error())}
	}
	return nil
}

// resolve finds the key a KeyId names: a key id, key ARN, alias name or
// alias ARN. An AWS-managed alias (alias/aws/...) that does not exist yet is
// created, as AWS creates a service's managed key on first use. The caller
// holds k.mu for writing when create is true.
func (k *KMS) resolve(keyID string, create bool) (*kmsKey, error) {
	if keyID == "" {
		return nil, validationError("KeyId is required")
	}
	ref := keyID
	if strings.HasPrefix(ref, "arn:") {
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" {
			return nil, &kmstypes.NotFoundException{Message: aws.String("Invalid arn " + keyID)}
		}
		ref = parts[5]
	}
	switch {
	case strings.HasPrefix(ref, "alias/"):
		a, ok := k.aliases[ref]
		if !ok {
			if create && strings.HasPrefix(ref, "alias/aws/") {
				return k.createManagedKey(ref)
			}
			return nil, &kmstypes.NotFoundException{Message: aws.String("Alias " + k.aliasARN(ref) + " is not found.")}
		}
		ref = a.Target
	case strings.HasPrefix(ref, "key/"):
		ref = strings.TrimPrefix(ref, "key/")
	}
	key, ok := k.keys[ref]
	if !ok {
		return nil, &kmstypes.NotFoundException{Message: aws.String("Key '" + k.keyARN(ref) + "' does not exist")}
	}
	return key, nil
}

func (k *KMS) createManagedKey(alias string) (*kmsKey, error) {
	key, err := k.newKey("", nil, "Default key that protects my "+strings.ToUpper(strings.TrimPrefix(alias, "alias/aws/"))+" data when no other key is defined", "AWS")
	if err != nil {
		return nil, err
	}
	k.aliases[alias] = &kmsAlias{Name: alias, Target: key.ID, Created: k.cfg.now()}
	if err := k.persist(); err != nil {
		return nil, err
	}
	return key, nil
}

// newKey adds a key; the caller holds k.mu and persists.
func (k *KMS) newKey(id string, material []byte, description, manager string) (*kmsKey, error) {
	if id == "" {
		var err error
		if id, err = k.newKeyID(); err != nil {
			return nil, &kmstypes.KMSInternalException{Message: aws.String(err.Error())}
		}
	}
	if _, ok := k.keys[id]; ok {
		return nil, &kmstypes.AlreadyExistsException{Message: aws.String("a key with id " + id + " already exists")}
	}
	if material == nil {
		material = make([]byte, 32)
		if _, err := io.ReadFull(k.cfg.rand, material); err != nil {
			return nil, &kmstypes.KMSInternalException{Message: aws.String(err.Error())}
		}
	}
	key := &kmsKey{ID: id, Material: material, Description: description, Enabled: true, Created: k.cfg.now().UTC(), Manager: manager}
	k.keys[id] = key
	k.order = append(k.order, id)
	return key, nil
}

func (k *KMS) metadata(key *kmsKey) *kmstypes.KeyMetadata {
	state := kmstypes.KeyStateEnabled
	if !key.Enabled {
		state = kmstypes.KeyStateDisabled
	}
	return &kmstypes.KeyMetadata{
		AWSAccountId:          aws.String(k.cfg.account),
		KeyId:                 aws.String(key.ID),
		Arn:                   aws.String(k.keyARN(key.ID)),
		CreationDate:          aws.Time(key.Created),
		Enabled:               key.Enabled,
		Description:           aws.String(key.Description),
		KeyUsage:              kmstypes.KeyUsageTypeEncryptDecrypt,
		KeyState:              state,
		Origin:                kmstypes.OriginTypeAwsKms,
		KeyManager:            kmstypes.KeyManagerType(key.Manager),
		CustomerMasterKeySpec: kmstypes.CustomerMasterKeySpecSymmetricDefault,
		KeySpec:               kmstypes.KeySpecSymmetricDefault,
		EncryptionAlgorithms:  []kmstypes.EncryptionAlgorithmSpec{kmstypes.EncryptionAlgorithmSpecSymmetricDefault},
		MultiRegion:           aws.Bool(false),
	}
}

// Tags with which LocalStack lets a caller choose a key's id and material;
// the embedded KMS honours them so bootstrap and seeding work on both.
const (
	tagCustomID       = "_custom_id_"
	tagCustomMaterial = "_custom_key_material_"
)

// CreateKey creates a symmetric encryption key.
func (k *KMS) CreateKey(ctx context.Context, in *kms.CreateKeyInput, _ ...func(*kms.Options)) (*kms.CreateKeyOutput, error) {
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	if in.KeySpec != "" && in.KeySpec != kmstypes.KeySpecSymmetricDefault ||
		in.CustomerMasterKeySpec != "" && in.CustomerMasterKeySpec != kmstypes.CustomerMasterKeySpecSymmetricDefault {
		return nil, &kmstypes.UnsupportedOperationException{Message: aws.String("the embedded KMS supports SYMMETRIC_DEFAULT keys only")}
	}
	if in.KeyUsage != "" && in.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt {
		return nil, &kmstypes.UnsupportedOperationException{Message: aws.String("the embedded KMS supports ENCRYPT_DECRYPT keys only")}
	}
	var id string
	var material []byte
	for _, t := range in.Tags {
		switch aws.ToString(t.TagKey) {
		case tagCustomID:
			id = aws.ToString(t.TagValue)
			if !keyIDRE.MatchString(id) {
				return nil, &kmstypes.TagException{Message: aws.String(tagCustomID + " must be a key id (a UUID)")}
			}
		case tagCustomMaterial:
			m, err := base64.StdEncoding.DecodeString(aws.ToString(t.TagValue))
			if err != nil || len(m) != 32 {
				return nil, &kmstypes.TagException{Message: aws.String(tagCustomMaterial + " must be base64 of 32 bytes")}
			}
			material = m
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	key, err := k.newKey(id, material, aws.ToString(in.Description), "CUSTOMER")
	if err != nil {
		return nil, err
	}
	if err := k.persist(); err != nil {
		return nil, err
	}
	return &kms.CreateKeyOutput{KeyMetadata: k.metadata(key)}, nil
}

// DescribeKey returns a key's metadata.
func (k *KMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, err := k.resolve(aws.ToString(in.KeyId), true)
	if err != nil {
		return nil, err
	}
	return &kms.DescribeKeyOutput{KeyMetadata: k.metadata(key)}, nil
}

var aliasNameRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)

// CreateAlias points a new alias at a key.
func (k *KMS) CreateAlias(ctx context.Context, in *kms.CreateAliasInput, _ ...func(*kms.Options)) (*kms.CreateAliasOutput, error) {
	name := aws.ToString(in.AliasName)
	if !aliasNameRE.MatchString(name) {
		return nil, validationError("AliasName must start with alias/ and contain only letters, digits, /, _ and -")
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return nil, &kmstypes.InvalidAliasNameException{Message: aws.String("Alias must not begin with 'alias/aws/'")}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.aliases[name]; ok {
		return nil, &kmstypes.AlreadyExistsException{Message: aws.String("An alias with the name " + k.aliasARN(name) + " already exists")}
	}
	key, err := k.resolve(aws.ToString(in.TargetKeyId), false)
	if err != nil {
		return nil, err
	}
	k.aliases[name] = &kmsAlias{Name: name, Target: key.ID, Created: k.cfg.now().UTC()}
	if err := k.persist(); err != nil {
		return nil, err
	}
	return &kms.CreateAliasOutput{}, nil
}

// ListAliases lists aliases in name order, optionally only a key's.
func (k *KMS) ListAliases(ctx context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	if in == nil {
		in = &kms.ListAliasesInput{}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	target := ""
	if id := aws.ToString(in.KeyId); id != "" {
		key, err := k.resolve(id, false)
		if err != nil {
			return nil, err
		}
		target = key.ID
	}
	var all []kmstypes.AliasListEntry
	for _, name := range slices.Sorted(maps.Keys(k.aliases)) {
		a := k.aliases[name]
		if target != "" && a.Target != target {
			continue
		}
		all = append(all, kmstypes.AliasListEntry{
			AliasName: aws.String(a.Name), AliasArn: aws.String(k.aliasARN(a.Name)), TargetKeyId: aws.String(a.Target),
			CreationDate: aws.Time(a.Created), LastUpdatedDate: aws.Time(a.Created),
		})
	}
	page, next, err := paginate(all, aws.ToString(in.Marker), in.Limit)
	if err != nil {
		return nil, err
	}
	return &kms.ListAliasesOutput{Aliases: page, NextMarker: next, Truncated: next != nil}, nil
}

// ListKeys lists keys in creation order.
func (k *KMS) ListKeys(ctx context.Context, in *kms.ListKeysInput, _ ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	if in == nil {
		in = &kms.ListKeysInput{}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	all := make([]kmstypes.KeyListEntry, 0, len(k.order))
	for _, id := range k.order {
		all = append(all, kmstypes.KeyListEntry{KeyId: aws.String(id), KeyArn: aws.String(k.keyARN(id))})
	}
	page, next, err := paginate(all, aws.ToString(in.Marker), in.Limit)
	if err != nil {
		return nil, err
	}
	return &kms.ListKeysOutput{Keys: page, NextMarker: next, Truncated: next != nil}, nil
}

// paginate cuts a page of at most limit (default 100, at most 1000) entries
// after the position marker encodes.
func paginate[T any](all []T, marker string, limit *int32) ([]T, *string, error) {
	start := 0
	if marker != "" {
		n, err := fmt.Sscanf(marker, "%d", &start)
		if n != 1 || err != nil || start < 0 || start > len(all) {
			return nil, nil, &kmstypes.InvalidMarkerException{Message: aws.String("invalid marker")}
		}
	}
	n := 100
	if limit != nil {
		if *limit < 1 || *limit > 1000 {
			return nil, nil, validationError("Limit must be between 1 and 1000")
		}
		n = int(*limit)
	}
	end := min(start+n, len(all))
	var next *string
	if end < len(all) {
		next = aws.String(fmt.Sprint(end))
	}
	return all[start:end], next, nil
}

// EnableKey enables a key.
func (k *KMS) EnableKey(ctx context.Context, in *kms.EnableKeyInput, _ ...func(*kms.Options)) (*kms.EnableKeyOutput, error) {
	return &kms.EnableKeyOutput{}, k.setEnabled(aws.ToString(in.KeyId), true)
}

// DisableKey disables a key: it then refuses to encrypt or decrypt.
func (k *KMS) DisableKey(ctx context.Context, in *kms.DisableKeyInput, _ ...func(*kms.Options)) (*kms.DisableKeyOutput, error) {
	return &kms.DisableKeyOutput{}, k.setEnabled(aws.ToString(in.KeyId), false)
}

func (k *KMS) setEnabled(keyID string, enabled bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, err := k.resolve(keyID, false)
	if err != nil {
		return err
	}
	key.Enabled = enabled
	return k.persist()
}

// usable resolves a key for a cryptographic operation.
func (k *KMS) usable(keyID string) (*kmsKey, error) {
	k.mu.RLock()
	key, err := k.resolve(keyID, false)
	k.mu.RUnlock()
	var nf *kmstypes.NotFoundException
	if errors.As(err, &nf) && strings.Contains(keyID, "alias/aws/") {
		// An AWS-managed alias seen for the first time: create its key.
		k.mu.Lock()
		key, err = k.resolve(keyID, true)
		k.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	if !key.Enabled {
		return nil, &kmstypes.DisabledException{Message: aws.String(k.keyARN(key.ID) + " is disabled.")}
	}
	return key, nil
}

// GenerateDataKey returns a new data key in plaintext and encrypted under
// the KMS key, bound to the encryption context.
func (k *KMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	n, err := dataKeySize(in.KeySpec, in.NumberOfBytes)
	if err != nil {
		return nil, err
	}
	key, err := k.usable(aws.ToString(in.KeyId))
	if err != nil {
		return nil, err
	}
	plain := make([]byte, n)
	if _, err := io.ReadFull(k.cfg.rand, plain); err != nil {
		return nil, &kmstypes.KMSInternalException{Message: aws.String(err.Error())}
	}
	blob, err := k.seal(key, plain, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &kms.GenerateDataKeyOutput{CiphertextBlob: blob, Plaintext: plain, KeyId: aws.String(k.keyARN(key.ID))}, nil
}

// GenerateDataKeyWithoutPlaintext is GenerateDataKey without the plaintext.
func (k *KMS) GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	out, err := k.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: in.KeyId, KeySpec: in.KeySpec, NumberOfBytes: in.NumberOfBytes, EncryptionContext: in.EncryptionContext,
	})
	if err != nil {
		return nil, err
	}
	clear(out.Plaintext)
	return &kms.GenerateDataKeyWithoutPlaintextOutput{CiphertextBlob: out.CiphertextBlob, KeyId: out.KeyId}, nil
}

func dataKeySize(spec kmstypes.DataKeySpec, numberOfBytes *int32) (int, error) {
	switch {
	case spec != "" && numberOfBytes != nil:
		return 0, validationError("specify either KeySpec or NumberOfBytes, not both")
	case spec == kmstypes.DataKeySpecAes256:
		return 32, nil
	case spec == kmstypes.DataKeySpecAes128:
		return 16, nil
	case spec != "":
		return 0, validationError("KeySpec must be AES_256 or AES_128")
	case numberOfBytes == nil:
		return 0, validationError("specify KeySpec or NumberOfBytes")
	case *numberOfBytes < 1 || *numberOfBytes > 1024:
		return 0, validationError("NumberOfBytes must be between 1 and 1024")
	}
	return int(*numberOfBytes), nil
}

// Encrypt encrypts up to 4096 bytes under a key.
func (k *KMS) Encrypt(ctx context.Context, in *kms.EncryptInput, _ ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	if len(in.Plaintext) < 1 || len(in.Plaintext) > 4096 {
		return nil, validationError("Plaintext must be between 1 and 4096 bytes")
	}
	key, err := k.usable(aws.ToString(in.KeyId))
	if err != nil {
		return nil, err
	}
	blob, err := k.seal(key, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &kms.EncryptOutput{CiphertextBlob: blob, KeyId: aws.String(k.keyARN(key.ID)),
		EncryptionAlgorithm: kmstypes.EncryptionAlgorithmSpecSymmetricDefault}, nil
}

// Decrypt decrypts a ciphertext blob. The blob names its key; a KeyId, when
// given in any form, must name the same key.
func (k *KMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	id, ok := blobKeyID(in.CiphertextBlob)
	if !ok {
		return nil, invalidCiphertext()
	}
	k.mu.RLock()
	key, found := k.keys[id]
	k.mu.RUnlock()
	if want := aws.ToString(in.KeyId); want != "" {
		k.mu.RLock()
		named, err := k.resolve(want, false)
		k.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		if !found || named.ID != id {
			return nil, &kmstypes.IncorrectKeyException{Message: aws.String("The key ID in the request does not identify a CMK that can perform this operation.")}
		}
	}
	if !found {
		return nil, invalidCiphertext()
	}
	if !key.Enabled {
		return nil, &kmstypes.DisabledException{Message: aws.String(k.keyARN(key.ID) + " is disabled.")}
	}
	plain, err := open(key, in.CiphertextBlob, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &kms.DecryptOutput{Plaintext: plain, KeyId: aws.String(k.keyARN(key.ID)),
		EncryptionAlgorithm: kmstypes.EncryptionAlgorithmSpecSymmetricDefault}, nil
}

const (
	blobVersion = 0x01
	blobIDLen   = 36
	blobHeader  = 1 + blobIDLen + 12
)

func (k *KMS) seal(key *kmsKey, plain []byte, encCtx map[string]string) ([]byte, error) {
	gcm, err := newKeyGCM(key)
	if err != nil {
		return nil, err
	}
	blob := make([]byte, blobHeader, blobHeader+len(plain)+gcm.Overhead())
	blob[0] = blobVersion
	copy(blob[1:], key.ID)
	if _, err := io.ReadFull(k.cfg.rand, blob[1+blobIDLen:blobHeader]); err != nil {
		return nil, &kmstypes.KMSInternalException{Message: aws.String(err.Error())}
	}
	return gcm.Seal(blob, blob[1+blobIDLen:blobHeader], plain, additionalData(key.ID, encCtx)), nil
}

func open(key *kmsKey, blob []byte, encCtx map[string]string) ([]byte, error) {
	gcm, err := newKeyGCM(key)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, blob[1+blobIDLen:blobHeader], blob[blobHeader:], additionalData(key.ID, encCtx))
	if err != nil {
		// A wrong context and a damaged blob look the same, as in AWS.
		return nil, invalidCiphertext()
	}
	return plain, nil
}

func blobKeyID(blob []byte) (string, bool) {
	if len(blob) < blobHeader+16 || blob[0] != blobVersion {
		return "", false
	}
	id := string(blob[1 : 1+blobIDLen])
	return id, keyIDRE.MatchString(id)
}

func newKeyGCM(key *kmsKey) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key.Material)
	if err != nil {
		return nil, &kmstypes.KMSInternalException{Message: aws.String(err.Error())}
	}
	return cipher.NewGCM(block)
}

// additionalData binds a blob to its key and encryption context.
func additionalData(keyID string, encCtx map[string]string) []byte {
	b := append([]byte("sesinbound-kms-v1"), keyID...)
	b = binary.AppendUvarint(b, uint64(len(encCtx)))
	for _, name := range slices.Sorted(maps.Keys(encCtx)) {
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(len(encCtx[name])))
		b = append(b, encCtx[name]...)
	}
	return b
}

func invalidCiphertext() error {
	return &kmstypes.InvalidCiphertextException{Message: aws.String("The ciphertext is invalid, or the encryption context does not match the one it was encrypted with.")}
}

func validationError(msg string) error {
	return &smithy.GenericAPIError{Code: "ValidationException", Message: msg, Fault: smithy.FaultClient}
}
