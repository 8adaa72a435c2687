package faults

import (
	"encoding/json"
	"net/http"

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
