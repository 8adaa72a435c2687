package fakes_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sesinbound/sesinbound/fakes"
)

// Keys and aliases survive a restart, so mail stored before it still
// decrypts after it.
func TestKMSPersistence(t *testing.T) {
	dir := t.TempDir()
	first, err := fakes.NewKMS(fakes.WithKMSDataDir(dir), fakes.WithKMSClock(kmsTestTime))
	if err != nil {
		t.Fatal(err)
	}
	key := kmsCreateKey(t, first, "alias/mail")
	off := kmsCreateKey(t, first)
	if _, err := first.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: off.KeyId}); err != nil {
		t.Fatal(err)
	}
	gen, err := first.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String("alias/mail"), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: kmsSESContext()})
	if err != nil {
		t.Fatal(err)
	}
	managed, err := first.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(kmsSESAlias), NumberOfBytes: aws.Int32(16)})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	info, err := os.Stat(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("keys.json mode = %v, want 0600", perm)
	}
	leftover := filepath.Join(dir, ".tmp-123456")
	if err := os.WriteFile(leftover, []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Another random source: the material must come from disk.
	second := kmsNew(t, fakes.WithKMSDataDir(dir), fakes.WithKMSRand(rand.NewChaCha8([32]byte{2})))
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover temporary file after NewKMS: %v", err)
	}
	for _, keyID := range []*string{nil, aws.String("alias/mail"), key.KeyId} {
		out, err := second.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: kmsSESContext(), KeyId: keyID})
		if err != nil || !bytes.Equal(out.Plaintext, gen.Plaintext) {
			t.Fatalf("Decrypt after restart (KeyId %q): %v", aws.ToString(keyID), err)
		}
	}
	out, err := second.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: managed.CiphertextBlob, KeyId: aws.String(kmsSESAlias)})
	if err != nil || !bytes.Equal(out.Plaintext, managed.Plaintext) {
		t.Fatalf("Decrypt under alias/aws/ses after restart: %v", err)
	}
	desc, err := second.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: off.KeyId})
	if err != nil || desc.KeyMetadata.Enabled || !desc.KeyMetadata.CreationDate.Equal(kmsTestTime()) || *desc.KeyMetadata.Description != "test key" {
		t.Errorf("disabled key after restart = %+v, %v", desc.KeyMetadata, err)
	}
	keys, err := second.ListKeys(t.Context(), &kms.ListKeysInput{})
	if err != nil || len(keys.Keys) != 3 || *keys.Keys[0].KeyId != *key.KeyId || *keys.Keys[1].KeyId != *off.KeyId {
		t.Errorf("ListKeys after restart = %v, %v", keys, err)
	}
	aliases, err := second.ListAliases(t.Context(), &kms.ListAliasesInput{})
	if err != nil || len(aliases.Aliases) != 2 || *aliases.Aliases[0].AliasName != "alias/aws/ses" || *aliases.Aliases[1].TargetKeyId != *key.KeyId {
		t.Errorf("ListAliases after restart = %v, %v", aliases, err)
	}
}

// A damaged key file stops the KMS from starting rather than losing keys.
func TestKMSPersistenceRefusesDamage(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":        `{"version":1,`,
		"unknown version": `{"version":9,"keys":[],"aliases":[]}`,
		"short material":  `{"version":1,"keys":[{"id":"0b5d7f8a-1c2e-4d3f-8a9b-0c1d2e3f4a5b","material":"AAAA","manager":"CUSTOMER"}]}`,
		"dangling alias":  `{"version":1,"keys":[],"aliases":[{"name":"alias/x","target":"0b5d7f8a-1c2e-4d3f-8a9b-0c1d2e3f4a5b"}]}`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "keys.json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := fakes.NewKMS(fakes.WithKMSDataDir(dir)); err == nil {
			t.Errorf("%s: NewKMS succeeded", name)
		}
	}
}
