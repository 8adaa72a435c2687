package faults

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/receipt"
)

// Handler serves /_sesinbound/faults:
//
//	GET     the faults in force, with what is left of each count
//	PUT     replace them with the body's FaultSpec
//	POST    add the body's FaultSpec to them
//	DELETE  clear them all
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodGet:
		case http.MethodPut, http.MethodPost:
			var spec receipt.FaultSpec
			dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&spec); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "faults: " + err.Error()})
				return
			}
			set := r.Add
			if req.Method == http.MethodPut {
				set = r.Set
			}
			if err := set(spec); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
		case http.MethodDelete:
			r.Clear()
		default:
			w.Header().Set("Allow", "GET, PUT, POST, DELETE")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET, PUT, POST or DELETE"})
			return
		}
		writeJSON(w, http.StatusOK, r.Spec())
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Middleware makes requests to the embedded endpoint subject to AWS faults
// of scope endpoint, answering them as S3 or KMS would.
func (r *Registry) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if target := req.Header.Get("X-Amz-Target"); strings.HasPrefix(target, "TrentService.") {
			if err := r.AWSFault(receipt.ScopeEndpoint, "kms", strings.TrimPrefix(target, "TrentService.")); err != nil {
				writeKMSError(w, err)
				return
			}
		} else if err := r.AWSFault(receipt.ScopeEndpoint, "s3", s3Operation(req)); err != nil {
			writeS3Error(w, req, err)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// s3Operation names the S3 operation of a path-style request, roughly.
func s3Operation(req *http.Request) string {
	path := strings.TrimPrefix(req.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	q := req.URL.Query()
	switch {
	case bucket == "":
		return "ListBuckets"
	case key == "":
		switch req.Method {
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodPost:
			return "DeleteObjects"
		}
		if q.Get("list-type") == "2" {
			return "ListObjectsV2"
		}
		return "ListObjects"
	}
	switch req.Method {
	case http.MethodGet:
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		return "DeleteObject"
	case http.MethodPost:
		return "CompleteMultipartUpload"
	}
	if q.Has("uploadId") {
		return "UploadPart"
	}
	return "PutObject"
}

func apiError(err error) (code, msg string, server bool) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage(), ae.ErrorFault() == smithy.FaultServer
	}
	return "InternalError", err.Error(), true
}

func writeKMSError(w http.ResponseWriter, err error) {
	code, msg, server := apiError(err)
	status := http.StatusBadRequest
	if server {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// s3Status is the HTTP status S3 sends with an error code.
func s3Status(code string, server bool) int {
	switch code {
	case "SlowDown", "ServiceUnavailable":
		return http.StatusServiceUnavailable
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return http.StatusForbidden
	case "NoSuchBucket", "NoSuchKey", "NotFound":
		return http.StatusNotFound
	case "RequestTimeout":
		return http.StatusBadRequest
	}
	if server {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func writeS3Error(w http.ResponseWriter, req *http.Request, err error) {
	code, msg, server := apiError(err)
	status := s3Status(code, server)
	if req.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(struct {
		XMLName  xml.Name `xml:"Error"`
		Code     string   `xml:"Code"`
		Message  string   `xml:"Message"`
		Resource string   `xml:"Resource"`
	}{Code: code, Message: msg, Resource: req.URL.Path})
}
