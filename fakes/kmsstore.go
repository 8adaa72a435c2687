package fakes

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// kmsStore keeps the KMS's keys and aliases in one JSON file, rewritten
// atomically on every change before the change is acknowledged, so a key is
// on disk before anything is encrypted under it.
type kmsStore struct {
	path string
}

type kmsFile struct {
	Keys    []*kmsKey   `json:"keys"`
	Aliases []*kmsAlias `json:"aliases"`
}

const kmsFileName = "keys.json"

func openKMSStore(dir string) (*kmsStore, []*kmsKey, []*kmsAlias, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("kms data dir: %w", err)
	}
	if err := removeTempFiles(dir); err != nil {
		return nil, nil, nil, fmt.Errorf("kms data dir: %w", err)
	}
	st := &kmsStore{path: filepath.Join(dir, kmsFileName)}
	data, err := os.ReadFile(st.path)
	if os.IsNotExist(err) {
		return st, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read kms keys: %w", err)
	}
	var f kmsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, nil, nil, fmt.Errorf("read kms keys %s: %w", st.path, err)
	}
	for _, k := range f.Keys {
		if !keyIDRE.MatchString(k.ID) || len(k.Material) != 32 {
			return nil, nil, nil, fmt.Errorf("read kms keys %s: key %q is damaged", st.path, k.ID)
		}
	}
	return st, f.Keys, f.Aliases, nil
}

func (s *kmsStore) save(keys []*kmsKey, aliases []*kmsAlias) error {
	data, err := json.MarshalIndent(kmsFile{Keys: keys, Aliases: aliases}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, data, 0o600)
}
