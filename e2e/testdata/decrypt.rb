# Decrypts one S3 object with the AWS SDK for Ruby's S3 Encryption Client,
# Aws::S3::EncryptionV2::Client, configured as a Ruby consumer of SES mail
# configures it: the legacy `kms` wrap allowed, any KMS key. It writes the
# plaintext to standard output.
#
#   ruby decrypt.rb S3_URL KMS_URL BUCKET KEY
#
# Credentials and region come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# and AWS_REGION.
require 'aws-sdk-s3'
require 'aws-sdk-kms'

s3_url, kms_url, bucket, key = ARGV
abort 'usage: ruby decrypt.rb S3_URL KMS_URL BUCKET KEY' unless key

region = ENV.fetch('AWS_REGION', 'us-east-1')
credentials = Aws::Credentials.new(ENV.fetch('AWS_ACCESS_KEY_ID'), ENV.fetch('AWS_SECRET_ACCESS_KEY'))
s3 = Aws::S3::Client.new(endpoint: s3_url, region: region, credentials: credentials, force_path_style: true)
kms = Aws::KMS::Client.new(endpoint: kms_url, region: region, credentials: credentials)
client = Aws::S3::EncryptionV2::Client.new(
  client: s3,
  kms_client: kms,
  kms_key_id: :kms_allow_decrypt_with_any_cmk,
  key_wrap_schema: :kms_context,
  content_encryption_schema: :aes_gcm_no_padding,
  security_profile: :v2_and_legacy
)
object = client.get_object(bucket: bucket, key: key)
$stdout.binmode
$stdout.write(object.body.read)
