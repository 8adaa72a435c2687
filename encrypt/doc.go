// Package encrypt writes and reads the client-side envelope that Amazon SES
// puts on mail it stores in S3 with a KmsKeyArn.
//
// SES uses the AWS S3 Encryption Client in its "V2 metadata format" with the
// legacy "kms" key wrap: one KMS GenerateDataKey (AES_256) per object under an
// encryption context, AES-256-GCM with a random 12-byte IV and no AAD, the
// 16-byte tag appended to the ciphertext, and seven x-amz-meta-* entries that
// carry the wrapped key, the IV and the material description (which is the
// encryption context). Seal produces exactly that; Open reverses it with KMS
// Decrypt, for tests and tools.
//
// The package knows nothing about SES rules, S3 or SMTP: the caller chooses
// the key and the encryption context, and stores the result.
//
// References:
//   - https://docs.aws.amazon.com/kms/latest/developerguide/services-ses.html
//   - https://github.com/awslabs/aws-encryption-sdk-specification (s3-encryption/data-format/content-metadata.md)
package encrypt
