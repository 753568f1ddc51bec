package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/registry"
)

// The AWS error types the API answers with, in the x-amzn-ErrorType header.
const (
	InvalidRequest        = "InvalidRequestException"
	ResourceNotFound      = "ResourceNotFoundException"
	ResourceAlreadyExists = "ResourceAlreadyExistsException"
	VersionConflict       = "VersionConflictException"
	LimitExceeded         = "LimitExceededException"
	DeleteConflict        = "DeleteConflictException"
	InternalFailure       = "InternalFailureException"
	ServiceUnavailable    = "ServiceUnavailableException"
	UnknownOperation      = "UnknownOperationException"
	MethodNotAllowed      = "MethodNotAllowedException"
)

// Error is an API error: an HTTP status, an AWS error type and a message.
// ResourceID and ResourceARN are set on ResourceAlreadyExistsException, as
// in AWS.
type Error struct {
	Status      int
	Type        string
	Message     string
	ResourceID  string
	ResourceARN string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// errorBody is the JSON body of an error response.
type errorBody struct {
	Message     string `json:"message"`
	ResourceID  string `json:"resourceId,omitempty"`
	ResourceARN string `json:"resourceArn,omitempty"`
}

// invalid is a 400 InvalidRequestException.
func invalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: InvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// notFound is a 404 ResourceNotFoundException.
func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Type: ResourceNotFound, Message: fmt.Sprintf(format, args...)}
}

// registryKinds maps the registry's error kinds to statuses and AWS types.
var registryKinds = []struct {
	kind   error
	status int
	typ    string
}{
	{registry.ErrNotFound, http.StatusNotFound, ResourceNotFound},
	{registry.ErrExists, http.StatusConflict, ResourceAlreadyExists},
	{registry.ErrVersionConflict, http.StatusConflict, VersionConflict},
	{registry.ErrInvalid, http.StatusBadRequest, InvalidRequest},
	{registry.ErrLimitExceeded, http.StatusGone, LimitExceeded},
	{registry.ErrInUse, http.StatusConflict, DeleteConflict},
}

// toAPIError classifies an error. Errors it does not know are internal
// failures; their detail stays in the log.
func toAPIError(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	for _, k := range registryKinds {
		if errors.Is(err, k.kind) {
			return &Error{Status: k.status, Type: k.typ, Message: err.Error()}
		}
	}
	var problems detector.ProblemsError
	if errors.As(err, &problems) {
		return invalid("%s", problems.Error())
	}
	return &Error{Status: http.StatusInternalServerError, Type: InternalFailure, Message: "internal failure; the server log has the details"}
}

// existsError adds the existing resource's id and ARN to a
// ResourceAlreadyExistsException; other errors pass unchanged.
func existsError(err error, id, arn string) error {
	if !errors.Is(err, registry.ErrExists) {
		return err
	}
	return &Error{Status: http.StatusConflict, Type: ResourceAlreadyExists, Message: err.Error(), ResourceID: id, ResourceARN: arn}
}

// writeError answers with an error in the AWS shape, and logs internal
// failures.
func writeError(w http.ResponseWriter, r *http.Request, log zerolog.Logger, err error) {
	e := toAPIError(err)
	if e.Status >= http.StatusInternalServerError {
		log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("request failed")
	}
	w.Header().Set("x-amzn-ErrorType", e.Type)
	writeJSON(w, e.Status, errorBody{Message: e.Message, ResourceID: e.ResourceID, ResourceARN: e.ResourceARN})
}
