package sesapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sesinbound/sesinbound/endpoint"
)

// v2Prefix is where the SES v2 identity operations live.
const v2Prefix = "/v2/email/identities"

// checkRegion refuses a request signed for another region than the
// instance's: each instance is one account in one region, as on AWS, where
// a request signed for eu-west-1 cannot reach us-east-1.
func (s *Service) checkRegion(r *http.Request) *Error {
	sc, ok := endpoint.CredentialScope(r)
	if !ok || sc.Region == s.cfg.Region {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Code: CodeSignatureDoesNotMatch,
		Message: "Credential should be scoped to a valid region, not '" + sc.Region + "'. This sesinbound serves " +
			s.cfg.Region + " only (account " + s.cfg.AccountID + "); sign for " + s.cfg.Region +
			" (AWS_REGION) or run another instance with Region: " + sc.Region + " in its rules file."}
}

// v2Error writes a REST-JSON error: the code in X-Amzn-ErrorType, the
// message in the body.
func v2Error(w http.ResponseWriter, reqID string, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("x-amzn-RequestId", reqID)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func v2JSON(w http.ResponseWriter, reqID string, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", reqID)
	json.NewEncoder(w).Encode(v)
}

func v2Type(name string) string {
	if identityType(name) == IdentityEmail {
		return "EMAIL_ADDRESS"
	}
	return "DOMAIN"
}

type v2Dkim struct {
	SigningEnabled          bool     `json:"SigningEnabled"`
	Status                  string   `json:"Status"`
	Tokens                  []string `json:"Tokens,omitempty"`
	SigningAttributesOrigin string   `json:"SigningAttributesOrigin,omitempty"`
}

func v2DkimOf(name string) *v2Dkim {
	if identityType(name) != IdentityDomain {
		return &v2Dkim{Status: "NOT_STARTED"}
	}
	return &v2Dkim{SigningEnabled: true, Status: "SUCCESS", Tokens: DKIMTokens(name), SigningAttributesOrigin: "AWS_SES"}
}

// serveV2 serves CreateEmailIdentity, GetEmailIdentity,
// ListEmailIdentities and DeleteEmailIdentity.
func (s *Service) serveV2(w http.ResponseWriter, r *http.Request) {
	reqID := s.requestID()
	if err := s.checkRegion(r); err != nil {
		v2Error(w, reqID, err.Status, "AccessDeniedException", err.Message)
		return
	}
	path := r.URL.EscapedPath()
	if path == "/v2/email/list-identities" && r.Method == http.MethodPost {
		// Newer SDKs list with a POST and a JSON body.
		var in struct {
			NextToken string `json:"NextToken"`
			PageSize  int    `json:"PageSize"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, maxFormBytes)).Decode(&in); err != nil && err != io.EOF {
			v2Error(w, reqID, http.StatusBadRequest, "BadRequestException", "the body is not JSON: "+err.Error())
			return
		}
		size := ""
		if in.PageSize != 0 {
			size = strconv.Itoa(in.PageSize)
		}
		s.listEmailIdentities(w, reqID, in.NextToken, size)
		return
	}
	rest, ok := strings.CutPrefix(path, v2Prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		v2Error(w, reqID, http.StatusNotFound, "NotFoundException", "sesinbound serves SES v2 identities only, under "+v2Prefix)
		return
	}
	rest = strings.TrimPrefix(rest, "/")
	switch {
	case rest == "" && r.Method == http.MethodPost:
		s.createEmailIdentity(w, r, reqID)
	case rest == "" && r.Method == http.MethodGet:
		s.listEmailIdentities(w, reqID, r.URL.Query().Get("NextToken"), r.URL.Query().Get("PageSize"))
	case rest != "" && !strings.Contains(rest, "/"):
		name, err := url.PathUnescape(rest)
		if err != nil {
			v2Error(w, reqID, http.StatusBadRequest, "BadRequestException", "bad identity in path: "+err.Error())
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.getEmailIdentity(w, reqID, name)
		case http.MethodDelete:
			s.deleteEmailIdentity(w, reqID, name)
		default:
			v2Error(w, reqID, http.StatusMethodNotAllowed, "BadRequestException", r.Method+" is not served on an identity")
		}
	default:
		v2Error(w, reqID, http.StatusNotFound, "NotFoundException", "sesinbound serves CreateEmailIdentity, GetEmailIdentity, ListEmailIdentities and DeleteEmailIdentity")
	}
}

func (s *Service) createEmailIdentity(w http.ResponseWriter, r *http.Request, reqID string) {
	var in struct {
		EmailIdentity string `json:"EmailIdentity"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxFormBytes)).Decode(&in); err != nil {
		v2Error(w, reqID, http.StatusBadRequest, "BadRequestException", "the body is not JSON: "+err.Error())
		return
	}
	name := strings.TrimSuffix(in.EmailIdentity, ".")
	if name == "" {
		v2Error(w, reqID, http.StatusBadRequest, "BadRequestException", "EmailIdentity is required")
		return
	}
	if err := s.checkIdentity(name); err != nil {
		v2Error(w, reqID, http.StatusBadRequest, "BadRequestException", err.Message)
		return
	}
	exists := false
	err := s.update(func(st *state) *Error {
		if st.identity(name) >= 0 {
			exists = true
			return errAlreadyExists("Identity", name)
		}
		st.identities = append(st.identities, identity{name: name, typ: identityType(name), dkim: identityType(name) == IdentityDomain})
		return nil
	})
	if exists {
		v2Error(w, reqID, http.StatusBadRequest, "AlreadyExistsException", "Email identity "+name+" already exist.")
		return
	}
	if err != nil {
		v2Error(w, reqID, http.StatusInternalServerError, "InternalFailure", err.Message)
		return
	}
	v2JSON(w, reqID, map[string]any{
		"IdentityType":             v2Type(name),
		"VerifiedForSendingStatus": true,
		"DkimAttributes":           v2DkimOf(name),
	})
}

func (s *Service) getEmailIdentity(w http.ResponseWriter, reqID, name string) {
	s.mu.Lock()
	i := s.st.identity(name)
	s.mu.Unlock()
	if i < 0 {
		v2Error(w, reqID, http.StatusNotFound, "NotFoundException", "Email identity "+name+" does not exist.")
		return
	}
	v2JSON(w, reqID, map[string]any{
		"IdentityType":             v2Type(name),
		"FeedbackForwardingStatus": true,
		"VerifiedForSendingStatus": true,
		"VerificationStatus":       "SUCCESS",
		"DkimAttributes":           v2DkimOf(name),
		"Policies":                 map[string]string{},
		"Tags":                     []any{},
	})
}

func (s *Service) listEmailIdentities(w http.ResponseWriter, reqID, token, pageSizeParam string) {
	size := pageSize
	if v := pageSizeParam; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			v2Error(w, reqID, http.StatusBadRequest, "BadRequestException", "PageSize must be between 1 and 1000")
			return
		}
		size = n
	}
	s.mu.Lock()
	ids := append([]identity(nil), s.st.identities...)
	s.mu.Unlock()
	start := 0
	if tok := token; tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(ids) {
			v2Error(w, reqID, http.StatusBadRequest, "BadRequestException", "Invalid NextToken")
			return
		}
		start = n
	}
	end := min(start+size, len(ids))
	type entry struct {
		IdentityType       string `json:"IdentityType"`
		IdentityName       string `json:"IdentityName"`
		SendingEnabled     bool   `json:"SendingEnabled"`
		VerificationStatus string `json:"VerificationStatus"`
	}
	out := struct {
		EmailIdentities []entry `json:"EmailIdentities"`
		NextToken       string  `json:"NextToken,omitempty"`
	}{EmailIdentities: []entry{}}
	for _, id := range ids[start:end] {
		out.EmailIdentities = append(out.EmailIdentities, entry{IdentityType: v2Type(id.name), IdentityName: id.name, SendingEnabled: true, VerificationStatus: "SUCCESS"})
	}
	if end < len(ids) {
		out.NextToken = strconv.Itoa(end)
	}
	v2JSON(w, reqID, out)
}

func (s *Service) deleteEmailIdentity(w http.ResponseWriter, reqID, name string) {
	missing := false
	err := s.update(func(st *state) *Error {
		i := st.identity(name)
		if i < 0 {
			missing = true
			return errorf("NotFound", "")
		}
		st.identities = append(st.identities[:i:i], st.identities[i+1:]...)
		return nil
	})
	if missing {
		v2Error(w, reqID, http.StatusNotFound, "NotFoundException", "Email identity "+name+" does not exist.")
		return
	}
	if err != nil {
		v2Error(w, reqID, http.StatusInternalServerError, "InternalFailure", err.Message)
		return
	}
	v2JSON(w, reqID, struct{}{})
}
