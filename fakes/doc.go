// Package fakes holds the embedded S3 and KMS that sesinbound uses when no
// external backend is configured.
//
// Each fake is an in-process store whose methods have the aws-sdk-go-v2
// client signatures (so *fakes.S3 stands in for *s3.Client and *fakes.KMS for
// *kms.Client without adapters) and which also serves the real AWS wire
// protocol over HTTP: S3's REST/XML API, path-style, and KMS's JSON 1.1 API.
// Handler puts both on one endpoint, so the aws CLI, the SDKs and the
// official S3 Encryption Clients can talk to them.
//
// Errors are the SDK's own typed errors (*s3types.NoSuchKey,
// *kmstypes.NotFoundException, ...), so callers classify a fake and a real
// service the same way with errors.As.
//
// The fakes do not check signatures or permissions: any credentials are
// accepted. They implement the operations sesinbound and decryptors use, not
// all of S3 or KMS.
//
// References:
//   - https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
//   - https://docs.aws.amazon.com/kms/latest/APIReference/API_Operations.html
package fakes
