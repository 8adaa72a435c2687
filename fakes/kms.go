package fakes

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
)

// KMS is an in-process AWS KMS that holds symmetric encryption keys
// (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) and their aliases. It is safe for
// concurrent use.
//
// Its methods have the signatures of *kms.Client and return the SDK's typed
// errors; ServeHTTP serves the same operations as the KMS JSON 1.1 API.
// Ciphertext blobs, in a versioned format of this package's own described
// in kmscrypto.go, name their key and bind the encryption context, so
// Decrypt works without a KeyId and refuses a wrong context with
// InvalidCiphertextException, as AWS does.
type KMS struct {
	cfg  kmsConfig
	rand io.Reader // cfg.rand, serialized: callers' readers need not be safe for concurrent use

	mu      sync.RWMutex
	keys    map[string]*kmsKey   // by key id
	order   []string             // key ids in creation order, for ListKeys
	aliases map[string]*kmsAlias // by alias name ("alias/x")
}

type kmsConfig struct {
	dataDir string
	region  string
	account string
	rand    io.Reader
	now     func() time.Time
	faults  FaultFunc
}

// KMSOption configures a KMS.
type KMSOption func(*kmsConfig)

// WithKMSDataDir makes the KMS keep its keys and aliases in dir, which it
// creates if needed, so that blobs stay decryptable across restarts. With ""
// (the default) they live in memory only.
func WithKMSDataDir(dir string) KMSOption { return func(c *kmsConfig) { c.dataDir = dir } }

// WithKMSAccount sets the region and account that key and alias ARNs name.
// The default is us-east-1 and 000000000000.
func WithKMSAccount(region, accountID string) KMSOption {
	return func(c *kmsConfig) { c.region, c.account = region, accountID }
}

// WithKMSRand sets the source of key material, key ids, data keys and
// nonces. The default is crypto/rand; anything else is for tests only,
// since a predictable source makes every key predictable.
func WithKMSRand(r io.Reader) KMSOption { return func(c *kmsConfig) { c.rand = r } }

// WithKMSClock sets the clock that dates keys and aliases.
func WithKMSClock(now func() time.Time) KMSOption { return func(c *kmsConfig) { c.now = now } }

// kmsKey is one KMS key. ID, Material, Description, Manager and Created
// never change after creation; Enabled is guarded by KMS.mu.
type kmsKey struct {
	ID          string                  `json:"id"`
	Material    []byte                  `json:"material"`
	Description string                  `json:"description"`
	Manager     kmstypes.KeyManagerType `json:"manager"`
	Created     time.Time               `json:"created"`
	Enabled     bool                    `json:"enabled"`
}

// kmsAlias points an alias name ("alias/x") at a key id.
type kmsAlias struct {
	Name    string    `json:"name"`
	Target  string    `json:"target"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

const (
	kmsDefaultRegion  = "us-east-1"
	kmsDefaultAccount = "000000000000"

	// kmsMaterialSize is the size of every key's AES-256 key material.
	kmsMaterialSize = 32

	// kmsManagedAliasPrefix starts the aliases of AWS-managed keys, which
	// AWS creates on first use and customers may not create.
	kmsManagedAliasPrefix = "alias/aws/"

	// Tags with which LocalStack lets a caller choose a new key's id and
	// material; honouring them lets tooling seed the same keys here and there.
	kmsTagCustomID       = "_custom_id_"
	kmsTagCustomMaterial = "_custom_key_material_"
)

var (
	kmsKeyIDPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	kmsAliasPattern   = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)
	kmsRegionPattern  = regexp.MustCompile(`^[a-z0-9-]+$`)
	kmsAccountPattern = regexp.MustCompile(`^[0-9]{12}$`)
)

// NewKMS returns a KMS. With a data directory it loads the keys and aliases
// stored there and removes files a crash left half-written.
func NewKMS(opts ...KMSOption) (*KMS, error) {
	cfg := kmsConfig{region: kmsDefaultRegion, account: kmsDefaultAccount, rand: rand.Reader, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if !kmsRegionPattern.MatchString(cfg.region) {
		return nil, fmt.Errorf("new kms: invalid region %q", cfg.region)
	}
	if !kmsAccountPattern.MatchString(cfg.account) {
		return nil, fmt.Errorf("new kms: account id %q is not 12 digits", cfg.account)
	}
	k := &KMS{
		cfg:     cfg,
		rand:    &lockedReader{r: cfg.rand},
		keys:    map[string]*kmsKey{},
		aliases: map[string]*kmsAlias{},
	}
	if cfg.dataDir == "" {
		return k, nil
	}
	keys, aliases, err := kmsLoad(cfg.dataDir)
	if err != nil {
		return nil, fmt.Errorf("new kms: %w", err)
	}
	for _, key := range keys {
		k.keys[key.ID] = key
		k.order = append(k.order, key.ID)
	}
	for _, a := range aliases {
		k.aliases[a.Name] = a
	}
	return k, nil
}

// Close releases the KMS. It has nothing to flush: every change is durable
// before the call that made it returns.
func (k *KMS) Close() error { return nil }

// lockedReader serializes reads from a reader that may not be safe for
// concurrent use, such as a seeded test source.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// now returns the current time at the millisecond precision of the wire
// format, so in-process and HTTP callers see the same dates.
func (k *KMS) now() time.Time { return k.cfg.now().UTC().Truncate(time.Millisecond) }

func (k *KMS) keyARN(id string) string {
	return "arn:aws:kms:" + k.cfg.region + ":" + k.cfg.account + ":key/" + id
}

func (k *KMS) aliasARN(name string) string {
	return "arn:aws:kms:" + k.cfg.region + ":" + k.cfg.account + ":" + name
}

// kmsRef is a parsed KeyId: exactly one of keyID and alias is set.
type kmsRef struct {
	keyID string
	alias string // "alias/x"
}

// parseRef parses a KeyId in any form AWS accepts: key id, key ARN, alias
// name or alias ARN. An ARN of another region or account names a key this
// KMS cannot have.
func (k *KMS) parseRef(keyID string) (kmsRef, error) {
	if keyID == "" {
		return kmsRef{}, kmsValidationError("KeyId is required")
	}
	resource := keyID
	if strings.HasPrefix(keyID, "arn:") {
		parts := strings.SplitN(keyID, ":", 6)
		if len(parts) != 6 || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kms" {
			return kmsRef{}, kmsNotFound("Invalid arn " + keyID)
		}
		if parts[3] != k.cfg.region || parts[4] != k.cfg.account {
			return kmsRef{}, kmsNotFound(keyID + " does not exist")
		}
		resource = parts[5]
		if id, ok := strings.CutPrefix(resource, "key/"); ok {
			resource = id
			if !kmsKeyIDPattern.MatchString(id) {
				return kmsRef{}, kmsNotFound("Invalid arn " + keyID)
			}
		} else if !strings.HasPrefix(resource, "alias/") {
			return kmsRef{}, kmsNotFound("Invalid arn " + keyID)
		}
	}
	switch {
	case strings.HasPrefix(resource, "alias/"):
		return kmsRef{alias: resource}, nil
	case kmsKeyIDPattern.MatchString(resource):
		return kmsRef{keyID: resource}, nil
	}
	return kmsRef{}, kmsNotFound("Invalid keyId '" + keyID + "'")
}

// lookupLocked finds the key a reference names; the caller holds k.mu.
func (k *KMS) lookupLocked(ref kmsRef) (*kmsKey, error) {
	id := ref.keyID
	if ref.alias != "" {
		a, ok := k.aliases[ref.alias]
		if !ok {
			return nil, kmsNotFound("Alias " + k.aliasARN(ref.alias) + " is not found.")
		}
		id = a.Target
	}
	key, ok := k.keys[id]
	if !ok {
		return nil, kmsNotFound("Key '" + k.keyARN(id) + "' does not exist")
	}
	return key, nil
}

// findKey returns a snapshot of the key a KeyId names. With createManaged,
// an AWS-managed alias (alias/aws/<service>) that does not exist yet gets a
// new AWS-managed key, as AWS creates a service's key on first use.
func (k *KMS) findKey(keyID string, createManaged bool) (kmsKey, error) {
	ref, err := k.parseRef(keyID)
	if err != nil {
		return kmsKey{}, err
	}
	k.mu.RLock()
	key, err := k.lookupLocked(ref)
	var snap kmsKey
	if err == nil {
		snap = *key
	}
	k.mu.RUnlock()
	if err == nil || !createManaged || !kmsIsManagedAlias(ref.alias) {
		return snap, err
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	if key, err := k.lookupLocked(ref); err == nil {
		return *key, nil // a concurrent call created it
	}
	key, err = k.createManagedKeyLocked(ref.alias)
	if err != nil {
		return kmsKey{}, err
	}
	return *key, nil
}

func kmsIsManagedAlias(alias string) bool {
	return strings.HasPrefix(alias, kmsManagedAliasPrefix) && len(alias) > len(kmsManagedAliasPrefix) &&
		kmsAliasPattern.MatchString(alias)
}

// createManagedKeyLocked creates an AWS-managed key and its alias; the
// caller holds k.mu for writing.
func (k *KMS) createManagedKeyLocked(alias string) (*kmsKey, error) {
	service := strings.ToUpper(strings.TrimPrefix(alias, kmsManagedAliasPrefix))
	key, err := k.generateKey("", nil,
		"Default key that protects my "+service+" data when no other key is defined", kmstypes.KeyManagerTypeAws)
	if err != nil {
		return nil, err
	}
	now := k.now()
	k.insertKeyLocked(key)
	k.aliases[alias] = &kmsAlias{Name: alias, Target: key.ID, Created: now, Updated: now}
	if err := k.saveLocked(); err != nil {
		delete(k.aliases, alias)
		k.removeKeyLocked(key.ID)
		return nil, err
	}
	return key, nil
}

// generateKey makes a new enabled key without adding it. An empty id or nil
// material is drawn from the random source.
func (k *KMS) generateKey(id string, material []byte, description string, manager kmstypes.KeyManagerType) (*kmsKey, error) {
	if id == "" {
		var err error
		if id, err = kmsUUID(k.rand); err != nil {
			return nil, kmsInternal("generate key id: " + err.Error())
		}
	}
	if material == nil {
		material = make([]byte, kmsMaterialSize)
		if _, err := io.ReadFull(k.rand, material); err != nil {
			return nil, kmsInternal("generate key material: " + err.Error())
		}
	}
	return &kmsKey{ID: id, Material: material, Description: description, Manager: manager, Created: k.now(), Enabled: true}, nil
}

func (k *KMS) insertKeyLocked(key *kmsKey) {
	k.keys[key.ID] = key
	k.order = append(k.order, key.ID)
}

// removeKeyLocked undoes insertKeyLocked when the change cannot be saved.
func (k *KMS) removeKeyLocked(id string) {
	delete(k.keys, id)
	k.order = slices.DeleteFunc(k.order, func(s string) bool { return s == id })
}

// saveLocked makes the current keys and aliases durable; the caller holds
// k.mu for writing and undoes its change if this fails.
func (k *KMS) saveLocked() error {
	if k.cfg.dataDir == "" {
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
	if err := kmsSave(k.cfg.dataDir, keys, aliases); err != nil {
		return kmsInternal("save keys: " + err.Error())
	}
	return nil
}

// kmsUUID returns a random (version 4) UUID, the form of KMS key ids.
func kmsUUID(r io.Reader) (string, error) {
	id, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func (k *KMS) metadata(key kmsKey) *kmstypes.KeyMetadata {
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
		KeyManager:            key.Manager,
		CustomerMasterKeySpec: kmstypes.CustomerMasterKeySpecSymmetricDefault,
		KeySpec:               kmstypes.KeySpecSymmetricDefault,
		EncryptionAlgorithms:  []kmstypes.EncryptionAlgorithmSpec{kmstypes.EncryptionAlgorithmSpecSymmetricDefault},
		MultiRegion:           aws.Bool(false),
	}
}

// CreateKey creates a customer-managed symmetric encryption key. Other key
// specs, usages and origins are refused. The tags _custom_id_ (an unused
// key id) and _custom_key_material_ (base64 of 32 bytes) choose the key's id
// and material, as in LocalStack; other tags are accepted and ignored.
func (k *KMS) CreateKey(ctx context.Context, in *kms.CreateKeyInput, _ ...func(*kms.Options)) (*kms.CreateKeyOutput, error) {
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	if err := kmsCheckKeyOptions(in); err != nil {
		return nil, err
	}
	id, material, err := kmsCustomTags(in.Tags)
	if err != nil {
		return nil, err
	}
	key, err := k.generateKey(id, material, aws.ToString(in.Description), kmstypes.KeyManagerTypeCustomer)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[key.ID]; ok {
		return nil, &kmstypes.AlreadyExistsException{Message: aws.String("Key '" + k.keyARN(key.ID) + "' already exists")}
	}
	k.insertKeyLocked(key)
	if err := k.saveLocked(); err != nil {
		k.removeKeyLocked(key.ID)
		return nil, err
	}
	return &kms.CreateKeyOutput{KeyMetadata: k.metadata(*key)}, nil
}

// kmsCheckKeyOptions refuses what this KMS does not implement the way AWS
// refuses what it does not support: valid but unavailable choices with
// UnsupportedOperationException, invalid ones with ValidationException.
func kmsCheckKeyOptions(in *kms.CreateKeyInput) error {
	switch {
	case in.KeySpec != "" && in.CustomerMasterKeySpec != "":
		return kmsValidationError("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec instead.")
	case in.KeySpec != "" && in.KeySpec != kmstypes.KeySpecSymmetricDefault:
		if !slices.Contains(in.KeySpec.Values(), in.KeySpec) {
			return kmsEnumError("keySpec", string(in.KeySpec))
		}
		return kmsUnsupported("the embedded KMS supports only SYMMETRIC_DEFAULT keys, not " + string(in.KeySpec))
	case in.CustomerMasterKeySpec != "" && in.CustomerMasterKeySpec != kmstypes.CustomerMasterKeySpecSymmetricDefault:
		if !slices.Contains(in.CustomerMasterKeySpec.Values(), in.CustomerMasterKeySpec) {
			return kmsEnumError("customerMasterKeySpec", string(in.CustomerMasterKeySpec))
		}
		return kmsUnsupported("the embedded KMS supports only SYMMETRIC_DEFAULT keys, not " + string(in.CustomerMasterKeySpec))
	case in.KeyUsage != "" && in.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt:
		if !slices.Contains(in.KeyUsage.Values(), in.KeyUsage) {
			return kmsEnumError("keyUsage", string(in.KeyUsage))
		}
		return kmsValidationError("KeyUsage " + string(in.KeyUsage) + " is not compatible with KeySpec SYMMETRIC_DEFAULT")
	case in.Origin != "" && in.Origin != kmstypes.OriginTypeAwsKms:
		if !slices.Contains(in.Origin.Values(), in.Origin) {
			return kmsEnumError("origin", string(in.Origin))
		}
		return kmsUnsupported("the embedded KMS supports only keys with origin AWS_KMS, not " + string(in.Origin))
	case aws.ToBool(in.MultiRegion):
		return kmsUnsupported("the embedded KMS does not support multi-Region keys")
	case aws.ToString(in.CustomKeyStoreId) != "" || aws.ToString(in.XksKeyId) != "":
		return kmsUnsupported("the embedded KMS does not support custom key stores")
	case len(aws.ToString(in.Description)) > 8192:
		return kmsValidationError("Description must be at most 8192 characters")
	}
	return nil
}

// kmsCustomTags reads LocalStack's _custom_id_ and _custom_key_material_
// tags; it returns "" and nil for those absent.
func kmsCustomTags(tags []kmstypes.Tag) (id string, material []byte, err error) {
	for _, t := range tags {
		switch aws.ToString(t.TagKey) {
		case kmsTagCustomID:
			id = aws.ToString(t.TagValue)
			if !kmsKeyIDPattern.MatchString(id) {
				return "", nil, &kmstypes.TagException{Message: aws.String("Tag " + kmsTagCustomID + " must be a key id (a UUID), not " + id)}
			}
		case kmsTagCustomMaterial:
			m, err := base64.StdEncoding.DecodeString(aws.ToString(t.TagValue))
			if err != nil || len(m) != kmsMaterialSize {
				return "", nil, &kmstypes.TagException{Message: aws.String("Tag " + kmsTagCustomMaterial + " must be the base64 encoding of 32 bytes")}
			}
			material = m
		}
	}
	return id, material, nil
}

// DescribeKey returns the metadata of the key a KeyId names in any form. As
// in AWS, naming an AWS-managed alias that does not exist yet creates its
// key.
func (k *KMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	if in == nil {
		in = &kms.DescribeKeyInput{}
	}
	key, err := k.findKey(aws.ToString(in.KeyId), true)
	if err != nil {
		return nil, err
	}
	return &kms.DescribeKeyOutput{KeyMetadata: k.metadata(key)}, nil
}

// CreateAlias points a new alias at a key. Names under alias/aws/ are
// reserved for AWS-managed keys.
func (k *KMS) CreateAlias(ctx context.Context, in *kms.CreateAliasInput, _ ...func(*kms.Options)) (*kms.CreateAliasOutput, error) {
	if in == nil {
		in = &kms.CreateAliasInput{}
	}
	name := aws.ToString(in.AliasName)
	switch {
	case !strings.HasPrefix(name, "alias/"):
		return nil, kmsValidationError(`Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
	case len(name) > 256 || !kmsAliasPattern.MatchString(name):
		return nil, kmsValidationError("1 validation error detected: Value '" + name +
			"' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$")
	case strings.HasPrefix(name, kmsManagedAliasPrefix):
		// KMS has no modeled error for this; AWS answers NotAuthorizedException.
		return nil, &smithy.GenericAPIError{Code: "NotAuthorizedException", Fault: smithy.FaultClient,
			Message: "Alias names starting with " + kmsManagedAliasPrefix + " are reserved for AWS managed keys"}
	}
	ref, err := k.parseRef(aws.ToString(in.TargetKeyId))
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.aliases[name]; ok {
		return nil, &kmstypes.AlreadyExistsException{Message: aws.String("An alias with the name " + k.aliasARN(name) + " already exists")}
	}
	key, err := k.lookupLocked(ref)
	if err != nil {
		return nil, err
	}
	now := k.now()
	k.aliases[name] = &kmsAlias{Name: name, Target: key.ID, Created: now, Updated: now}
	if err := k.saveLocked(); err != nil {
		delete(k.aliases, name)
		return nil, err
	}
	return &kms.CreateAliasOutput{}, nil
}

// ListAliases lists aliases, AWS-managed ones included, in name order;
// with a KeyId, only those of that key.
func (k *KMS) ListAliases(ctx context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	if in == nil {
		in = &kms.ListAliasesInput{}
	}
	var ref kmsRef
	if id := aws.ToString(in.KeyId); id != "" {
		var err error
		if ref, err = k.parseRef(id); err != nil {
			return nil, err
		}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	target := ""
	if ref != (kmsRef{}) {
		key, err := k.lookupLocked(ref)
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
			AliasName:       aws.String(a.Name),
			AliasArn:        aws.String(k.aliasARN(a.Name)),
			TargetKeyId:     aws.String(a.Target),
			CreationDate:    aws.Time(a.Created),
			LastUpdatedDate: aws.Time(a.Updated),
		})
	}
	page, next, err := kmsPage(all, func(e kmstypes.AliasListEntry) string { return *e.AliasName }, in.Marker, in.Limit)
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
	all := make([]kmstypes.KeyListEntry, 0, len(k.order))
	for _, id := range k.order {
		all = append(all, kmstypes.KeyListEntry{KeyId: aws.String(id), KeyArn: aws.String(k.keyARN(id))})
	}
	k.mu.RUnlock()
	page, next, err := kmsPage(all, func(e kmstypes.KeyListEntry) string { return *e.KeyId }, in.Marker, in.Limit)
	if err != nil {
		return nil, err
	}
	return &kms.ListKeysOutput{Keys: page, NextMarker: next, Truncated: next != nil}, nil
}

// kmsPage cuts from all a page of at most limit entries (1 to 1000, default
// 100) that follows the entry named marker. The marker handed back is the
// name of the page's last entry, so pages stay consistent while entries are
// added.
func kmsPage[T any](all []T, name func(T) string, marker *string, limit *int32) ([]T, *string, error) {
	n := 100
	if limit != nil {
		if *limit < 1 || *limit > 1000 {
			return nil, nil, kmsValidationError(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000", *limit))
		}
		n = int(*limit)
	}
	start := 0
	if m := aws.ToString(marker); m != "" {
		i := slices.IndexFunc(all, func(e T) bool { return name(e) == m })
		if i < 0 {
			return nil, nil, &kmstypes.InvalidMarkerException{Message: aws.String("Invalid marker " + m)}
		}
		start = i + 1
	}
	end := min(start+n, len(all))
	page := all[start:end]
	if end == len(all) {
		return page, nil, nil
	}
	return page, aws.String(name(all[end-1])), nil
}

// EnableKey enables a key.
func (k *KMS) EnableKey(ctx context.Context, in *kms.EnableKeyInput, _ ...func(*kms.Options)) (*kms.EnableKeyOutput, error) {
	if in == nil {
		in = &kms.EnableKeyInput{}
	}
	if err := k.setEnabled(aws.ToString(in.KeyId), true); err != nil {
		return nil, err
	}
	return &kms.EnableKeyOutput{}, nil
}

// DisableKey disables a key: until it is enabled again, it neither
// encrypts nor decrypts.
func (k *KMS) DisableKey(ctx context.Context, in *kms.DisableKeyInput, _ ...func(*kms.Options)) (*kms.DisableKeyOutput, error) {
	if in == nil {
		in = &kms.DisableKeyInput{}
	}
	if err := k.setEnabled(aws.ToString(in.KeyId), false); err != nil {
		return nil, err
	}
	return &kms.DisableKeyOutput{}, nil
}

func (k *KMS) setEnabled(keyID string, enabled bool) error {
	ref, err := k.parseRef(keyID)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	key, err := k.lookupLocked(ref)
	if err != nil || key.Enabled == enabled {
		return err
	}
	key.Enabled = enabled
	if err := k.saveLocked(); err != nil {
		key.Enabled = !enabled
		return err
	}
	return nil
}

func kmsNotFound(msg string) error {
	return &kmstypes.NotFoundException{Message: aws.String(msg)}
}

func kmsUnsupported(msg string) error {
	return &kmstypes.UnsupportedOperationException{Message: aws.String(msg)}
}

// kmsInternal reports a failure of the fake itself. It carries KMS's 500,
// as the SDK's error would, so that callers retry it as they would AWS's.
func kmsInternal(msg string) error {
	return &statusError{err: &kmstypes.KMSInternalException{Message: aws.String(msg)}, status: http.StatusInternalServerError}
}

// kmsValidationError is AWS's error for a request that breaks the API's
// constraints; the KMS model does not declare it, so it has no SDK type.
func kmsValidationError(msg string) error {
	return &smithy.GenericAPIError{Code: "ValidationException", Message: msg, Fault: smithy.FaultClient}
}

func kmsEnumError(member, value string) error {
	return kmsValidationError("1 validation error detected: Value '" + value + "' at '" + member +
		"' failed to satisfy constraint: Member must satisfy enum value set")
}

// kmsIsNotFound reports whether err is a NotFoundException.
func kmsIsNotFound(err error) bool {
	var nf *kmstypes.NotFoundException
	return errors.As(err, &nf)
}
