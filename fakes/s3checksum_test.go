package fakes_test

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"hash/crc64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sesinbound/sesinbound/fakes"
)

func crc64NVMEOf(b []byte) string {
	sum := crc64.Checksum(b, crc64.MakeTable(0x9a6c9329ac4bc9b5))
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, sum))
}

// Every object has a CRC64NVME, and keeps the checksum its client sent;
// both come back with ChecksumMode ENABLED, in-process and over HTTP, in
// memory and on disk, also after a restart; without it, none.
func TestS3Checksums(t *testing.T) {
	s3EachAPI(t, func(t *testing.T, s *fakes.S3, api s3API) {
		ctx := t.Context()
		s3CreateBucket(t, s, "sums")
		body := []byte("checksummed body")
		crc := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body)))
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sums"), Key: aws.String("with"), Body: strings.NewReader(string(body)),
			ContentLength: aws.Int64(int64(len(body))), ChecksumCRC32: aws.String(crc)}); err != nil {
			t.Fatal(err)
		}
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sums"), Key: aws.String("without"), Body: strings.NewReader(string(body))}); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"with", "without"} {
			get, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sums"), Key: aws.String(key), ChecksumMode: s3types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			get.Body.Close()
			head, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sums"), Key: aws.String(key), ChecksumMode: s3types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			for what, got := range map[string]string{"GetObject": aws.ToString(get.ChecksumCRC64NVME), "HeadObject": aws.ToString(head.ChecksumCRC64NVME)} {
				if got != crc64NVMEOf(body) {
					t.Errorf("%s %s: CRC64NVME %q, want %q", key, what, got, crc64NVMEOf(body))
				}
			}
			if wantCRC := map[string]string{"with": crc}[key]; aws.ToString(get.ChecksumCRC32) != wantCRC || aws.ToString(head.ChecksumCRC32) != wantCRC {
				t.Errorf("%s: CRC32 %q/%q, want %q", key, aws.ToString(get.ChecksumCRC32), aws.ToString(head.ChecksumCRC32), wantCRC)
			}
		}
		plain, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sums"), Key: aws.String("with")})
		if err != nil {
			t.Fatal(err)
		}
		plain.Body.Close()
		if plain.ChecksumCRC64NVME != nil || plain.ChecksumCRC32 != nil {
			t.Errorf("checksums without ChecksumMode: %v %v", plain.ChecksumCRC64NVME, plain.ChecksumCRC32)
		}
	})
}

// The checksums an object was stored with are in its on-disk record.
func TestS3ChecksumsPersist(t *testing.T) {
	dir := t.TempDir()
	s, err := fakes.NewS3(fakes.WithS3DataDir(dir), fakes.WithBuckets("kept"))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("kept body")
	crc := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body)))
	if _, err := s.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("kept"), Key: aws.String("k"), Body: strings.NewReader(string(body)), ChecksumCRC32: aws.String(crc)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := fakes.NewS3(fakes.WithS3DataDir(dir), fakes.WithBuckets("kept"))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	head, err := s2.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("kept"), Key: aws.String("k"), ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumCRC32) != crc || aws.ToString(head.ChecksumCRC64NVME) != crc64NVMEOf(body) {
		t.Fatalf("after a restart: %v, CRC32 %q CRC64NVME %q", err, aws.ToString(head.ChecksumCRC32), aws.ToString(head.ChecksumCRC64NVME))
	}
}
