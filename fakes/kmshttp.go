package fakes

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// kmsContentType is the media type of KMS requests and responses.
const kmsContentType = "application/x-amz-json-1.1"

// kmsMaxRequest bounds a request body; the largest real request, Decrypt
// of a 6144-byte blob with a context, is far smaller.
const kmsMaxRequest = 1 << 20

// ServeHTTP serves the KMS JSON 1.1 protocol: POST with X-Amz-Target
// TrentService.<Operation> and a JSON body whose blobs are base64 strings.
// Responses are JSON with dates as epoch seconds; errors are
// {"__type": code, "message": ...} with the code also in X-Amzn-ErrorType.
// Signatures are not checked.
func (k *KMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", kmsRequestID(k.rand))
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), kmsTargetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeKMSError(w, http.StatusBadRequest, "UnknownOperationException",
			"KMS requests are POST with X-Amz-Target: TrentService.<Operation>")
		return
	}
	op, ok := kmsOperation(name)
	if !ok {
		writeKMSError(w, http.StatusBadRequest, "UnknownOperationException", "The embedded KMS does not implement "+name)
		return
	}
	if k.cfg.faults != nil {
		if err := k.cfg.faults(r.Context(), name); err != nil {
			writeKMSAPIError(w, err)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, kmsMaxRequest))
	if err != nil {
		writeKMSError(w, http.StatusBadRequest, "SerializationException", "read request: "+err.Error())
		return
	}
	out, err := op(r.Context(), k, body)
	if err != nil {
		writeKMSAPIError(w, err)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		writeKMSError(w, http.StatusInternalServerError, "KMSInternalException", "encode response: "+err.Error())
		return
	}
	kmsHeaders(w, len(data))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// writeKMSError writes an error the way KMS does, which is what the SDKs
// and the aws CLI parse.
func writeKMSError(w http.ResponseWriter, status int, code, message string) {
	data, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{code, message})
	kmsHeaders(w, len(data))
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	w.Write(data)
}

// writeKMSAPIError writes the error an operation returned: API errors with
// their own code, anything else as KMSInternalException.
func writeKMSAPIError(w http.ResponseWriter, err error) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		writeKMSError(w, http.StatusInternalServerError, "KMSInternalException", err.Error())
		return
	}
	status, ok := httpStatus(err)
	if !ok {
		status = kmsStatus(ae)
	}
	writeKMSError(w, status, ae.ErrorCode(), ae.ErrorMessage())
}

func kmsHeaders(w http.ResponseWriter, length int) {
	h := w.Header()
	h.Set("Content-Type", kmsContentType)
	h.Set("Content-Length", strconv.Itoa(length))
	if h.Get("X-Amzn-RequestId") == "" {
		h.Set("X-Amzn-RequestId", kmsRequestID(rand.Reader))
	}
}

// kmsRequestID returns a random UUID from r, the form of AWS request ids.
func kmsRequestID(r io.Reader) string {
	id, err := kmsUUID(r)
	if err != nil {
		return "00000000-0000-4000-8000-000000000000"
	}
	return id
}

// kmsOp runs one operation on a JSON request body and returns the value
// whose JSON encoding is the response body.
type kmsOp func(ctx context.Context, k *KMS, body []byte) (any, error)

// kmsOperation returns the handler of a KMS operation.
func kmsOperation(name string) (kmsOp, bool) {
	switch name {
	case "CreateKey":
		return kmsHandle((*KMS).CreateKey, func(o *kms.CreateKeyOutput) any {
			return kmsKeyMetadataResponse{kmsKeyMetadataJSON(o.KeyMetadata)}
		}), true
	case "DescribeKey":
		return kmsHandle((*KMS).DescribeKey, func(o *kms.DescribeKeyOutput) any {
			return kmsKeyMetadataResponse{kmsKeyMetadataJSON(o.KeyMetadata)}
		}), true
	case "CreateAlias":
		return kmsHandle((*KMS).CreateAlias, func(*kms.CreateAliasOutput) any { return struct{}{} }), true
	case "ListAliases":
		return kmsHandle((*KMS).ListAliases, kmsListAliasesJSON), true
	case "ListKeys":
		return kmsHandle((*KMS).ListKeys, kmsListKeysJSON), true
	case "EnableKey":
		return kmsHandle((*KMS).EnableKey, func(*kms.EnableKeyOutput) any { return struct{}{} }), true
	case "DisableKey":
		return kmsHandle((*KMS).DisableKey, func(*kms.DisableKeyOutput) any { return struct{}{} }), true
	case "GenerateDataKey":
		return kmsHandle((*KMS).GenerateDataKey, func(o *kms.GenerateDataKeyOutput) any {
			return kmsCryptoResponse{CiphertextBlob: o.CiphertextBlob, Plaintext: o.Plaintext, KeyId: aws.ToString(o.KeyId)}
		}), true
	case "GenerateDataKeyWithoutPlaintext":
		return kmsHandle((*KMS).GenerateDataKeyWithoutPlaintext, func(o *kms.GenerateDataKeyWithoutPlaintextOutput) any {
			return kmsCryptoResponse{CiphertextBlob: o.CiphertextBlob, KeyId: aws.ToString(o.KeyId)}
		}), true
	case "Encrypt":
		return kmsHandle((*KMS).Encrypt, func(o *kms.EncryptOutput) any {
			return kmsCryptoResponse{CiphertextBlob: o.CiphertextBlob, KeyId: aws.ToString(o.KeyId), EncryptionAlgorithm: o.EncryptionAlgorithm}
		}), true
	case "Decrypt":
		return kmsHandle((*KMS).Decrypt, func(o *kms.DecryptOutput) any {
			return kmsCryptoResponse{Plaintext: o.Plaintext, KeyId: aws.ToString(o.KeyId), EncryptionAlgorithm: o.EncryptionAlgorithm}
		}), true
	}
	return nil, false
}

// kmsHandle adapts an in-process method to the wire. Requests decode
// straight into the SDK's input structs: their field names are the wire's
// member names, and encoding/json reads []byte from base64 as the protocol
// sends blobs. Outputs need render, since the wire's dates are epoch
// seconds.
func kmsHandle[In, Out any](call func(*KMS, context.Context, *In, ...func(*kms.Options)) (*Out, error), render func(*Out) any) kmsOp {
	return func(ctx context.Context, k *KMS, body []byte) (any, error) {
		in := new(In)
		if len(body) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, &smithy.GenericAPIError{Code: "SerializationException", Message: err.Error(), Fault: smithy.FaultClient}
			}
		}
		out, err := call(k, ctx, in)
		if err != nil {
			return nil, err
		}
		return render(out), nil
	}
}

// kmsEpoch is a time on the wire: seconds since the epoch as a JSON number,
// with milliseconds as the fraction.
type kmsEpoch time.Time

// MarshalJSON writes the time as a number, such as 1795413600.123.
func (t kmsEpoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Time(t).UnixMilli())/1000, 'f', -1, 64), nil
}

func kmsEpochOf(t *time.Time) *kmsEpoch {
	if t == nil {
		return nil
	}
	e := kmsEpoch(*t)
	return &e
}

type kmsKeyMetadataResponse struct {
	KeyMetadata kmsKeyMetadataWire
}

type kmsKeyMetadataWire struct {
	AWSAccountId          string
	KeyId                 string
	Arn                   string
	CreationDate          *kmsEpoch `json:",omitempty"`
	Enabled               bool
	Description           string
	KeyUsage              kmstypes.KeyUsageType
	KeyState              kmstypes.KeyState
	Origin                kmstypes.OriginType
	KeyManager            kmstypes.KeyManagerType
	CustomerMasterKeySpec kmstypes.CustomerMasterKeySpec
	KeySpec               kmstypes.KeySpec
	EncryptionAlgorithms  []kmstypes.EncryptionAlgorithmSpec
	MultiRegion           bool
}

func kmsKeyMetadataJSON(m *kmstypes.KeyMetadata) kmsKeyMetadataWire {
	return kmsKeyMetadataWire{
		AWSAccountId:          aws.ToString(m.AWSAccountId),
		KeyId:                 aws.ToString(m.KeyId),
		Arn:                   aws.ToString(m.Arn),
		CreationDate:          kmsEpochOf(m.CreationDate),
		Enabled:               m.Enabled,
		Description:           aws.ToString(m.Description),
		KeyUsage:              m.KeyUsage,
		KeyState:              m.KeyState,
		Origin:                m.Origin,
		KeyManager:            m.KeyManager,
		CustomerMasterKeySpec: m.CustomerMasterKeySpec,
		KeySpec:               m.KeySpec,
		EncryptionAlgorithms:  m.EncryptionAlgorithms,
		MultiRegion:           aws.ToBool(m.MultiRegion),
	}
}

type kmsAliasWire struct {
	AliasName       string
	AliasArn        string
	TargetKeyId     string
	CreationDate    *kmsEpoch `json:",omitempty"`
	LastUpdatedDate *kmsEpoch `json:",omitempty"`
}

type kmsListAliasesResponse struct {
	Aliases    []kmsAliasWire
	NextMarker string `json:",omitempty"`
	Truncated  bool
}

func kmsListAliasesJSON(o *kms.ListAliasesOutput) any {
	resp := kmsListAliasesResponse{Aliases: []kmsAliasWire{}, NextMarker: aws.ToString(o.NextMarker), Truncated: o.Truncated}
	for _, a := range o.Aliases {
		resp.Aliases = append(resp.Aliases, kmsAliasWire{
			AliasName:       aws.ToString(a.AliasName),
			AliasArn:        aws.ToString(a.AliasArn),
			TargetKeyId:     aws.ToString(a.TargetKeyId),
			CreationDate:    kmsEpochOf(a.CreationDate),
			LastUpdatedDate: kmsEpochOf(a.LastUpdatedDate),
		})
	}
	return resp
}

type kmsKeyWire struct {
	KeyId  string
	KeyArn string
}

type kmsListKeysResponse struct {
	Keys       []kmsKeyWire
	NextMarker string `json:",omitempty"`
	Truncated  bool
}

func kmsListKeysJSON(o *kms.ListKeysOutput) any {
	resp := kmsListKeysResponse{Keys: []kmsKeyWire{}, NextMarker: aws.ToString(o.NextMarker), Truncated: o.Truncated}
	for _, e := range o.Keys {
		resp.Keys = append(resp.Keys, kmsKeyWire{KeyId: aws.ToString(e.KeyId), KeyArn: aws.ToString(e.KeyArn)})
	}
	return resp
}

// kmsCryptoResponse is the output of GenerateDataKey, Encrypt and Decrypt;
// each sets the members its operation has.
type kmsCryptoResponse struct {
	CiphertextBlob      []byte                           `json:",omitempty"`
	Plaintext           []byte                           `json:",omitempty"`
	KeyId               string                           `json:",omitempty"`
	EncryptionAlgorithm kmstypes.EncryptionAlgorithmSpec `json:",omitempty"`
}
