package e2e

import (
	"encoding/base64"
	binenc "encoding/binary"
	"encoding/json"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// crc64NVME is the checksum S3 keeps for every object, computed here
// independently of the fake.
func crc64NVME(b []byte) string {
	sum := crc64.Checksum(b, crc64.MakeTable(0x9a6c9329ac4bc9b5))
	return base64.StdEncoding.EncodeToString(binenc.BigEndian.AppendUint64(nil, sum))
}

// The S3 requests real clients make that the embedded endpoint once
// refused: presigned URLs from the aws CLI v1 (Signature Version 2) and
// the Go SDK (Version 4), checksums with ChecksumMode ENABLED, object
// tagging, and ListObjectVersions on an unversioned bucket. Each through
// the Go SDK, the aws CLI v1 and boto3, against a stored SES mail.
func TestS3ClientGaps(t *testing.T) {
	inst := start(t, nil)
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: gaps\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := s3Client(inst.AWSURL)
	ctx := t.Context()
	stored, _ := getObject(t, inst.AWSURL, "ses-inbound", id)
	want := crc64NVME(stored)

	t.Run("go-sdk", func(t *testing.T) {
		get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(get.Body) // the SDK checks the checksum as it reads
		get.Body.Close()
		if got := aws.ToString(get.ChecksumCRC64NVME); got != want || get.ChecksumType != s3types.ChecksumTypeFullObject {
			t.Errorf("GetObject CRC64NVME %q type %q, want %q FULL_OBJECT", got, get.ChecksumType, want)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil || aws.ToString(head.ChecksumCRC64NVME) != want {
			t.Errorf("HeadObject: %v, CRC64NVME %q", err, aws.ToString(head.ChecksumCRC64NVME))
		}
		// A checksum the client sends is kept and given back.
		body := []byte("a body with a CRC32")
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String("go/crc32"), Body: strings.NewReader(string(body)),
			ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}); err != nil {
			t.Fatal(err)
		}
		get, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String("go/crc32"), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		get.Body.Close()
		wantCRC32 := base64.StdEncoding.EncodeToString(binenc.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body)))
		if aws.ToString(get.ChecksumCRC32) != wantCRC32 || aws.ToString(get.ChecksumCRC64NVME) != crc64NVME(body) {
			t.Errorf("CRC32 %q (want %q), CRC64NVME %q (want %q)", aws.ToString(get.ChecksumCRC32), wantCRC32, aws.ToString(get.ChecksumCRC64NVME), crc64NVME(body))
		}
		// Tagging keeps the object as it was.
		before, _ := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id)})
		if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id),
			Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}); err != nil {
			t.Fatal(err)
		}
		tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id)})
		if err != nil || len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "k" || aws.ToString(tags.TagSet[0].Value) != "v" {
			t.Fatalf("GetObjectTagging: %v %+v", err, tags)
		}
		after, _ := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id)})
		if aws.ToString(after.ETag) != aws.ToString(before.ETag) || !aws.ToTime(after.LastModified).Equal(aws.ToTime(before.LastModified)) ||
			aws.ToInt32(after.TagCount) != 1 || after.Metadata["x-amz-key-v2"] == "" {
			t.Errorf("after tagging: ETag %s→%s, LastModified %v→%v, tag count %d, metadata %v", aws.ToString(before.ETag), aws.ToString(after.ETag),
				before.LastModified, after.LastModified, aws.ToInt32(after.TagCount), after.Metadata)
		}
		if plain, err := decryptV4(ctx, inst.AWSURL, defaultKey, "ses-inbound", id); err != nil || !strings.HasSuffix(string(plain), "body\r\n") {
			t.Errorf("decrypt after tagging: %v", err)
		}
		vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("ses-inbound"), Prefix: aws.String(id)})
		if err != nil || len(vs.Versions) != 1 || aws.ToString(vs.Versions[0].VersionId) != "null" || !aws.ToBool(vs.Versions[0].IsLatest) ||
			aws.ToString(vs.Versions[0].Key) != id {
			t.Errorf("ListObjectVersions: %v %+v", err, vs)
		}
		// A SigV4 presigned URL.
		req, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if got := httpGet(t, req.URL); got != string(stored) {
			t.Errorf("SigV4 presigned GET gave %d bytes, want %d", len(got), len(stored))
		}
	})

	t.Run("aws-cli-v1", func(t *testing.T) {
		awsPath, err := exec.LookPath("aws")
		need(t, reasonIf(err != nil, "the aws CLI is not installed: "+errString(err)))
		cmd := exec.Command(awsPath, "--endpoint-url", inst.AWSURL, "s3", "presign", "s3://ses-inbound/"+id, "--expires-in", "300")
		cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws s3 presign: %v: %s", err, out)
		}
		u := strings.TrimSpace(string(out))
		t.Logf("aws s3 presign: %s", u)
		if got := httpGet(t, u); got != string(stored) {
			t.Errorf("presigned GET gave %d bytes, want %d", len(got), len(stored))
		}
		// An expired one is refused, as S3 refuses it.
		if strings.Contains(u, "Expires=") {
			expired := u[:strings.Index(u, "Expires=")] + "Expires=" + "1000000000" + u[strings.Index(u, "Expires=")+len("Expires=")+10:]
			resp, err := http.Get(expired)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("expired presigned URL: %s, want 403", resp.Status)
			}
		}
		cmd = exec.Command(awsPath, "--endpoint-url", inst.AWSURL, "s3api", "get-object-tagging", "--bucket", "ses-inbound", "--key", id)
		cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "TagSet") {
			t.Errorf("aws s3api get-object-tagging: %v: %s", err, out)
		}
	})

	t.Run("boto3", func(t *testing.T) {
		py, reason := python()
		need(t, reason)
		script, _ := filepath.Abs(filepath.Join("testdata", "s3gaps.py"))
		cmd := exec.Command(py, script, inst.AWSURL, "ses-inbound", id)
		cmd.Env = cleanEnv()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("s3gaps.py: %v: %s", err, stderr.String())
		}
		if strings.Contains(stderr.String(), "no supported checksum") {
			t.Errorf("boto3 warned: %s", stderr.String())
		}
		var got struct {
			Size          int         `json:"size"`
			GetCRC64NVME  string      `json:"get_crc64nvme"`
			GetType       string      `json:"get_type"`
			HeadCRC64NVME string      `json:"head_crc64nvme"`
			CRC32         string      `json:"crc32"`
			Tags          [][2]string `json:"tags"`
			Versions      [][]any     `json:"versions"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		t.Logf("boto3 saw %s", out)
		if got.GetCRC64NVME != want || got.HeadCRC64NVME != want || got.GetType != "FULL_OBJECT" || got.CRC32 == "" || got.Size != len(stored) {
			t.Errorf("checksums: %+v, want CRC64NVME %s", got, want)
		}
		if !slices.Equal(got.Tags, [][2]string{{"lang", "ja"}, {"stage", "test"}}) {
			t.Errorf("tags %v", got.Tags)
		}
		if len(got.Versions) != 1 || got.Versions[0][1] != "null" || got.Versions[0][2] != true {
			t.Errorf("versions %v", got.Versions)
		}
	})
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	return string(b)
}

func reasonIf(cond bool, reason string) string {
	if cond {
		return reason
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
