package fakes

import (
	"net/http"
	"strings"
)

// kmsTargetPrefix starts the X-Amz-Target header of every KMS JSON 1.1
// request; S3 requests never carry it.
const kmsTargetPrefix = "TrentService."

// Handler serves S3 and KMS on one endpoint, as LocalStack does: requests
// whose X-Amz-Target names a KMS operation go to kms, everything else to s3.
// Either may be nil when that service is external; its requests then get a
// 501 NotImplemented error in the service's own format.
func Handler(s3 *S3, kms *KMS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), kmsTargetPrefix) {
			if kms == nil {
				writeKMSError(w, http.StatusNotImplemented, "UnsupportedOperationException",
					"the embedded KMS is disabled: sesinbound is using an external KMS")
				return
			}
			kms.ServeHTTP(w, r)
			return
		}
		if s3 == nil {
			writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented",
				"the embedded S3 is disabled: sesinbound is using an external S3", "")
			return
		}
		s3.ServeHTTP(w, r)
	})
}
