package fakes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// The KMS persists all its keys and aliases in one JSON file in its data
// directory, replaced atomically (temporary file, fsync, rename, fsync of
// the directory) on every change before the call making the change returns,
// so a key is on disk before anything is encrypted under it. The file holds
// key material in the clear, as any emulator's must: it is created with mode
// 0600 in a directory with mode 0700.
const (
	kmsStoreName    = "keys.json"
	kmsStoreVersion = 1
)

// kmsStoreFile is the content of keys.json.
type kmsStoreFile struct {
	Version int         `json:"version"`
	Keys    []*kmsKey   `json:"keys"`    // in creation order
	Aliases []*kmsAlias `json:"aliases"` // in name order
}

// kmsLoad prepares dir, removes what an interrupted save left there and
// returns the keys and aliases stored in it.
func kmsLoad(dir string) ([]*kmsKey, []*kmsAlias, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("load keys: %w", err)
	}
	if err := removeTempFiles(dir); err != nil {
		return nil, nil, fmt.Errorf("load keys: %w", err)
	}
	path := filepath.Join(dir, kmsStoreName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load keys: %w", err)
	}
	var f kmsStoreFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, nil, fmt.Errorf("load keys %s: %w", path, err)
	}
	if err := f.validate(); err != nil {
		return nil, nil, fmt.Errorf("load keys %s: %w", path, err)
	}
	return f.Keys, f.Aliases, nil
}

// validate refuses a damaged file rather than start without some keys,
// which would make everything sealed under them undecryptable.
func (f *kmsStoreFile) validate() error {
	if f.Version != kmsStoreVersion {
		return fmt.Errorf("unsupported version %d", f.Version)
	}
	ids := make(map[string]bool, len(f.Keys))
	for _, k := range f.Keys {
		switch {
		case k == nil || !kmsKeyIDPattern.MatchString(k.ID):
			return errors.New("a key has an invalid id")
		case ids[k.ID]:
			return fmt.Errorf("key %s appears twice", k.ID)
		case len(k.Material) != kmsMaterialSize:
			return fmt.Errorf("key %s has %d bytes of material, want %d", k.ID, len(k.Material), kmsMaterialSize)
		case k.Manager != kmstypes.KeyManagerTypeCustomer && k.Manager != kmstypes.KeyManagerTypeAws:
			return fmt.Errorf("key %s has invalid manager %q", k.ID, k.Manager)
		}
		ids[k.ID] = true
	}
	names := make(map[string]bool, len(f.Aliases))
	for _, a := range f.Aliases {
		switch {
		case a == nil || !kmsAliasPattern.MatchString(a.Name):
			return errors.New("an alias has an invalid name")
		case names[a.Name]:
			return fmt.Errorf("alias %s appears twice", a.Name)
		case !ids[a.Target]:
			return fmt.Errorf("alias %s points at missing key %q", a.Name, a.Target)
		}
		names[a.Name] = true
	}
	return nil
}

// kmsSave durably replaces the stored keys and aliases.
func kmsSave(dir string, keys []*kmsKey, aliases []*kmsAlias) error {
	data, err := json.MarshalIndent(kmsStoreFile{Version: kmsStoreVersion, Keys: keys, Aliases: aliases}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, kmsStoreName), append(data, '\n'), 0o600)
}
