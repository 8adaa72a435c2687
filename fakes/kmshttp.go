package fakes

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// ServeHTTP serves the KMS JSON 1.1 protocol: POST / with X-Amz-Target
// TrentService.<Operation> and a JSON body; blobs are base64 strings and
// dates epoch seconds.
func (k *KMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), kmsTargetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeKMSError(w, http.StatusBadRequest, "UnknownOperationException", "KMS requests are POST / with X-Amz-Target: TrentService.<Operation>")
		return
	}
	h, ok := kmsOps[op]
	if !ok {
		writeKMSError(w, http.StatusBadRequest, "UnknownOperationException", "the embedded KMS does not implement "+op)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeKMSError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	out, err := h(r.Context(), k, body)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			status := http.StatusBadRequest
			if ae.ErrorFault() == smithy.FaultServer {
				status = http.StatusInternalServerError
			}
			writeKMSError(w, status, ae.ErrorCode(), ae.ErrorMessage())
			return
		}
		writeKMSError(w, http.StatusInternalServerError, "KMSInternalException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID())
	json.NewEncoder(w).Encode(out)
}

// writeKMSError writes an error in the JSON 1.1 shape the SDKs parse.
func writeKMSError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}

type kmsOp func(ctx context.Context, k *KMS, body []byte) (any, error)

// decode unmarshals a request into an SDK input struct. Their exported
// field names are the wire names, and []byte fields take base64, as in the
// protocol.
func decode[T any](body []byte) (*T, error) {
	in := new(T)
	if err := json.Unmarshal(body, in); err != nil {
		return nil, &smithy.GenericAPIError{Code: "SerializationException", Message: err.Error(), Fault: smithy.FaultClient}
	}
	return in, nil
}

func epoch(t *time.Time) any {
	if t == nil {
		return nil
	}
	return float64(t.UnixMilli()) / 1000
}

func keyMetadataJSON(m *kmstypes.KeyMetadata) map[string]any {
	return map[string]any{
		"AWSAccountId":          aws.ToString(m.AWSAccountId),
		"KeyId":                 aws.ToString(m.KeyId),
		"Arn":                   aws.ToString(m.Arn),
		"CreationDate":          epoch(m.CreationDate),
		"Enabled":               m.Enabled,
		"Description":           aws.ToString(m.Description),
		"KeyUsage":              m.KeyUsage,
		"KeyState":              m.KeyState,
		"Origin":                m.Origin,
		"KeyManager":            m.KeyManager,
		"CustomerMasterKeySpec": m.CustomerMasterKeySpec,
		"KeySpec":               m.KeySpec,
		"EncryptionAlgorithms":  m.EncryptionAlgorithms,
		"MultiRegion":           aws.ToBool(m.MultiRegion),
	}
}

var kmsOps = map[string]kmsOp{
	"CreateKey": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.CreateKeyInput](b)
		if err != nil {
			return nil, err
		}
		out, err := k.CreateKey(ctx, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"KeyMetadata": keyMetadataJSON(out.KeyMetadata)}, nil
	},
	"DescribeKey": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.DescribeKeyInput](b)
		if err != nil {
			return nil, err
		}
		out, err := k.DescribeKey(ctx, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"KeyMetadata": keyMetadataJSON(out.KeyMetadata)}, nil
	},
	"CreateAlias": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.CreateAliasInput](b)
		if err != nil {
			return nil, err
		}
		_, err = k.CreateAlias(ctx, in)
		return map[string]any{}, err
	},
	"ListAliases": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.ListAliasesInput](b)
		if err != nil {
			return nil, err
		}
		out, err := k.ListAliases(ctx, in)
		if err != nil {
			return nil, err
		}
		aliases := make([]map[string]any, len(out.Aliases))
		for i, a := range out.Aliases {
			aliases[i] = map[string]any{
				"AliasName": aws.ToString(a.AliasName), "AliasArn": aws.ToString(a.AliasArn),
				"TargetKeyId":  aws.ToString(a.TargetKeyId),
				"CreationDate": epoch(a.CreationDate), "LastUpdatedDate": epoch(a.LastUpdatedDate),
			}
		}
		return listJSON("Aliases", aliases, out.NextMarker), nil
	},
	"ListKeys": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.ListKeysInput](b)
		if err != nil {
			return nil, err
		}
		out, err := k.ListKeys(ctx, in)
		if err != nil {
			return nil, err
		}
		keys := make([]map[string]any, len(out.Keys))
		for i, e := range out.Keys {
			keys[i] = map[string]any{"KeyId": aws.ToString(e.KeyId), "KeyArn": aws.ToString(e.KeyArn)}
		}
		return listJSON("Keys", keys, out.NextMarker), nil
	},
	"EnableKey": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.EnableKeyInput](b)
		if err != nil {
			return nil, err
		}
		_, err = k.EnableKey(ctx, in)
		return map[string]any{}, err
	},
	"DisableKey": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.DisableKeyInput](b)
		if err != nil {
			return nil, err
		}
		_, err = k.DisableKey(ctx, in)
		return map[string]any{}, err
	},
	"GenerateDataKey": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.GenerateDataKeyInput](b)
		if err != nil {
			return nil, err
		}
		out, err := k.GenerateDataKey(ctx, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"CiphertextBlob": out.CiphertextBlob, "Plaintext": out.Plaintext, "KeyId": aws.ToString(out.KeyId)}, nil
	},
	"GenerateDataKeyWithoutPlaintext": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.GenerateDataKeyWithoutPlaintextInput](b)
		if err != nil {
			return nil, err
		}
		out, err := k.GenerateDataKeyWithoutPlaintext(ctx, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"CiphertextBlob": out.CiphertextBlob, "KeyId": aws.ToString(out.KeyId)}, nil
	},
	"Encrypt": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.EncryptInput](b)
		if err != nil {
			return nil, err
		}
		out, err := k.Encrypt(ctx, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"CiphertextBlob": out.CiphertextBlob, "KeyId": aws.ToString(out.KeyId), "EncryptionAlgorithm": out.EncryptionAlgorithm}, nil
	},
	"Decrypt": func(ctx context.Context, k *KMS, b []byte) (any, error) {
		in, err := decode[kms.DecryptInput](b)
		if err != nil {
			return nil, err
		}
		out, err := k.Decrypt(ctx, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"Plaintext": out.Plaintext, "KeyId": aws.ToString(out.KeyId), "EncryptionAlgorithm": out.EncryptionAlgorithm}, nil
	},
}

func listJSON(field string, items any, next *string) map[string]any {
	m := map[string]any{field: items, "Truncated": next != nil}
	if next != nil {
		m["NextMarker"] = *next
	}
	return m
}
