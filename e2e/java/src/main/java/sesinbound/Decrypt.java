package sesinbound;

import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.services.kms.AWSKMS;
import com.amazonaws.services.kms.AWSKMSClientBuilder;
import com.amazonaws.services.s3.AmazonS3EncryptionV2;
import com.amazonaws.services.s3.AmazonS3EncryptionClientV2Builder;
import com.amazonaws.services.s3.model.CryptoConfigurationV2;
import com.amazonaws.services.s3.model.CryptoMode;
import com.amazonaws.services.s3.AmazonS3;
import com.amazonaws.services.s3.AmazonS3ClientBuilder;
import com.amazonaws.services.s3.model.KMSEncryptionMaterials;
import com.amazonaws.services.s3.model.KMSEncryptionMaterialsProvider;
import com.amazonaws.services.s3.model.ObjectMetadata;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import com.amazonaws.services.s3.model.S3Object;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.encryption.s3.CommitmentPolicy;
import software.amazon.encryption.s3.S3EncryptionClient;
import software.amazon.encryption.s3.materials.KmsKeyring;

/**
 * Decrypts S3 objects the way a Java consumer of SES mail does. One JVM
 * reads many objects, because starting one costs seconds.
 *
 * <pre>
 *   java -cp ... sesinbound.Decrypt CLIENT POLICY S3_URL KMS_URL KMS_KEY_ID OUT_DIR BUCKET KEY...
 * </pre>
 *
 * For the i-th KEY (from 0) it writes the plaintext to OUT_DIR/i.out, or
 * the exception chain, one "Class: message" per line, to OUT_DIR/i.err.
 * CLIENT is one of:
 * <ul>
 * <li>{@code s3ec}: the Amazon S3 Encryption Client for Java, legacy
 * wrapping enabled, commitment policy POLICY ("-" for
 * REQUIRE_ENCRYPT_ALLOW_DECRYPT, "default" for the builder's default);
 * <li>{@code v1}: the AWS SDK for Java v1's AmazonS3EncryptionClientV2 in
 * CryptoMode.AuthenticatedEncryption, which reads the legacy "kms" wrap
 * only when the materials' description equals the object's
 * x-amz-matdesc: so the object's metadata is read first and every entry
 * of it (SES's aws:ses:* context) goes into the KMSEncryptionMaterials;
 * <li>{@code v1-key-only}: the same client with
 * KMSEncryptionMaterialsProvider(KMS_KEY_ID) alone, as the SDK's examples
 * configure it; it refuses SES mail.
 * </ul>
 * Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the
 * region from AWS_REGION.
 */
public final class Decrypt {
    public static void main(String[] args) throws Exception {
        if (args.length < 8) {
            System.err.println("usage: Decrypt s3ec|v1|v1-key-only POLICY S3_URL KMS_URL KMS_KEY_ID OUT_DIR BUCKET KEY...");
            System.exit(2);
        }
        String client = args[0], s3Url = args[2], kmsUrl = args[3], keyId = args[4], bucket = args[6];
        String policy = args[1].equals("-") ? "REQUIRE_ENCRYPT_ALLOW_DECRYPT" : args[1];
        Path outDir = Paths.get(args[5]);
        String accessKey = System.getenv().getOrDefault("AWS_ACCESS_KEY_ID", "test");
        String secret = System.getenv().getOrDefault("AWS_SECRET_ACCESS_KEY", "test");
        String region = System.getenv().getOrDefault("AWS_REGION", "us-east-1");
        for (int i = 7; i < args.length; i++) {
            String key = args[i];
            String name = Integer.toString(i - 7);
            try {
                byte[] plain;
                switch (client) {
                    case "s3ec":
                        plain = s3ec(s3Url, kmsUrl, bucket, key, keyId, policy.equals("default") ? null : CommitmentPolicy.valueOf(policy), accessKey, secret, region);
                        break;
                    case "v1":
                        plain = v1(s3Url, kmsUrl, bucket, key, keyId, true, accessKey, secret, region);
                        break;
                    case "v1-key-only":
                        plain = v1(s3Url, kmsUrl, bucket, key, keyId, false, accessKey, secret, region);
                        break;
                    default:
                        throw new IllegalArgumentException("unknown client " + client);
                }
                Files.write(outDir.resolve(name + ".out"), plain);
            } catch (Exception e) {
                StringBuilder chain = new StringBuilder();
                for (Throwable t = e; t != null; t = t.getCause()) {
                    chain.append(t.getClass().getName()).append(": ").append(t.getMessage()).append('\n');
                }
                Files.write(outDir.resolve(name + ".err"), chain.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    static byte[] s3ec(String s3Url, String kmsUrl, String bucket, String key, String keyId, CommitmentPolicy policy,
            String accessKey, String secret, String region) {
        StaticCredentialsProvider creds = StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secret));
        S3Client s3 = S3Client.builder().endpointOverride(URI.create(s3Url)).forcePathStyle(true)
                .region(Region.of(region)).credentialsProvider(creds).build();
        KmsClient kms = KmsClient.builder().endpointOverride(URI.create(kmsUrl))
                .region(Region.of(region)).credentialsProvider(creds).build();
        KmsKeyring keyring = KmsKeyring.builder().kmsClient(kms).wrappingKeyId(keyId)
                .enableLegacyWrappingAlgorithms(true).build();
        // The client builds its own async S3 client for GetObject, so the
        // endpoint goes to its builder, not only to the wrapped client.
        S3EncryptionClient.Builder b = S3EncryptionClient.builderV4().wrappedClient(s3).keyring(keyring)
                .endpointOverride(URI.create(s3Url)).forcePathStyle(true).region(Region.of(region)).credentialsProvider(creds)
                .enableLegacyWrappingAlgorithms(true);
        if (policy != null) {
            b.commitmentPolicy(policy);
        }
        try (S3EncryptionClient ec = b.build()) {
            ResponseBytes<GetObjectResponse> got = ec.getObjectAsBytes(r -> r.bucket(bucket).key(key));
            return got.asByteArray();
        }
    }

    static byte[] v1(String s3Url, String kmsUrl, String bucket, String key, String keyId, boolean objectMatDesc,
            String accessKey, String secret, String region) throws Exception {
        AWSStaticCredentialsProvider creds = new AWSStaticCredentialsProvider(new BasicAWSCredentials(accessKey, secret));
        KMSEncryptionMaterialsProvider materials = new KMSEncryptionMaterialsProvider(keyId);
        if (objectMatDesc) {
            AmazonS3 s3 = AmazonS3ClientBuilder.standard().withCredentials(creds)
                    .withEndpointConfiguration(new EndpointConfiguration(s3Url, region))
                    .withPathStyleAccessEnabled(true).build();
            ObjectMetadata head = s3.getObjectMetadata(bucket, key);
            s3.shutdown();
            String matdesc = head.getUserMetaDataOf("x-amz-matdesc");
            if (matdesc == null) {
                throw new IllegalStateException("s3://" + bucket + "/" + key + " has no x-amz-matdesc");
            }
            @SuppressWarnings("unchecked")
            Map<String, String> desc = new ObjectMapper().readValue(matdesc, Map.class);
            // KMSEncryptionMaterials always describes itself with kms_cmk_id.
            KMSEncryptionMaterials m = new KMSEncryptionMaterials(desc.getOrDefault("kms_cmk_id", keyId));
            for (Map.Entry<String, String> e : desc.entrySet()) {
                m.addDescription(e.getKey(), e.getValue());
            }
            materials = new KMSEncryptionMaterialsProvider(m);
        }
        AWSKMS kms = AWSKMSClientBuilder.standard().withCredentials(creds)
                .withEndpointConfiguration(new EndpointConfiguration(kmsUrl, region)).build();
        AmazonS3EncryptionV2 ec = AmazonS3EncryptionClientV2Builder.standard()
                .withCredentials(creds)
                .withEndpointConfiguration(new EndpointConfiguration(s3Url, region))
                .withPathStyleAccessEnabled(true)
                .withKmsClient(kms)
                .withEncryptionMaterialsProvider(materials)
                .withCryptoConfiguration(new CryptoConfigurationV2().withCryptoMode(CryptoMode.AuthenticatedEncryption))
                .build();
        try (S3Object obj = ec.getObject(bucket, key); InputStream in = obj.getObjectContent()) {
            return in.readAllBytes();
        } finally {
            ec.shutdown();
        }
    }
}
