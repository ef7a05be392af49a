package officetrack

import (
	"errors"
	"fmt"
	"strings"
)

// Result codes (ResultCode) named in the contract.
const (
	CodeOK                      = "OK"
	CodeOKWithWarnings          = "OKWithWarnings"
	CodeOKSomeErrorsEncountered = "OKSomeErrorsEncountered"

	CodeValidationError          = "ValidationError"
	CodeRequiredDataIsMissing    = "RequiredDataIsMissing"
	CodeCouldNotResolveAddress   = "CouldNotResolveAddress"
	CodeTaskTypeNotFound         = "TaskTypeNotFound"
	CodeEmployeeNumberNotFound   = "EmployeeNumberNotFound"
	CodeCustomerNumberNotFound   = "CustomerNumberNotFound"
	CodeDistributionAreaNotFound = "DistributionAreaNotFound"
	CodeContractorCodeNotFound   = "ContractorCodeNotFound"
	CodeTaskNumberNotFound       = "TaskNumberNotFound"
	CodeTaskNumberAlreadyExists  = "TaskNumberAlreadyExists"
	CodeInvalidStartOrDueDate    = "InvalidStartOrDueDate"
	CodeInvalidDateFormat        = "InvalidDateFormat"
	CodeOperationNotAllowed      = "OperationNotAllowed"

	CodeInvalidCredentials = "InvalidUserNameOrPasswordOrIPAddress"
	CodeModuleNotSet       = "ModuleNotSet"

	CodeTooMuchDataToProcess    = "TooMuchDataToProcess"
	CodeUnknownErrorHasOccurred = "UnknownErrorHasOccurred"
)

// Class sorts an outcome by what the caller must do about it.
type Class int

const (
	// Success: the row went through (possibly with warnings).
	Success Class = iota
	// RowError: permanent for that row; report it, do not retry.
	RowError
	// RunStopping: nothing else will succeed (credentials, module); stop.
	RunStopping
	// Transient: retry later with backoff.
	Transient
)

func (c Class) String() string {
	switch c {
	case Success:
		return "success"
	case RowError:
		return "row error"
	case RunStopping:
		return "run-stopping"
	case Transient:
		return "transient"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

var codeClasses = map[string]Class{
	CodeOK: Success, CodeOKWithWarnings: Success, CodeOKSomeErrorsEncountered: Success,

	CodeValidationError: RowError, CodeRequiredDataIsMissing: RowError,
	CodeCouldNotResolveAddress: RowError, CodeTaskTypeNotFound: RowError,
	CodeEmployeeNumberNotFound: RowError, CodeCustomerNumberNotFound: RowError,
	CodeDistributionAreaNotFound: RowError, CodeContractorCodeNotFound: RowError,
	CodeTaskNumberNotFound: RowError, CodeTaskNumberAlreadyExists: RowError,
	CodeInvalidStartOrDueDate: RowError, CodeInvalidDateFormat: RowError,
	CodeOperationNotAllowed: RowError,

	CodeInvalidCredentials: RunStopping, CodeModuleNotSet: RunStopping,

	CodeTooMuchDataToProcess: Transient, CodeUnknownErrorHasOccurred: Transient,
}

// ResultCodes returns every result code the contract names, with ints as
// the fake service numbers them (OK is 0).
func ResultCodes() []string {
	return append([]string(nil), codeOrder...)
}

var codeOrder = []string{CodeOK, CodeOKWithWarnings, CodeOKSomeErrorsEncountered,
	CodeValidationError, CodeRequiredDataIsMissing, CodeCouldNotResolveAddress,
	CodeTaskTypeNotFound, CodeEmployeeNumberNotFound, CodeCustomerNumberNotFound,
	CodeDistributionAreaNotFound, CodeContractorCodeNotFound, CodeTaskNumberNotFound,
	CodeTaskNumberAlreadyExists, CodeInvalidStartOrDueDate, CodeInvalidDateFormat,
	CodeOperationNotAllowed, CodeInvalidCredentials, CodeModuleNotSet,
	CodeTooMuchDataToProcess, CodeUnknownErrorHasOccurred}

// CodeInt returns the number the fake gives a code (its index in
// ResultCodes; OK is 0), or -1 for an unknown code.
func CodeInt(code string) int {
	for i, c := range codeOrder {
		if c == code {
			return i
		}
	}
	return -1
}

// Classify sorts a ResultCode. An empty code with ResultCodeAsInt 0 is
// success; an unknown code is a row error (reported, not retried forever).
func Classify(code string, codeInt int) Class {
	if c, ok := codeClasses[strings.TrimSpace(code)]; ok {
		return c
	}
	if strings.TrimSpace(code) == "" && codeInt == 0 {
		return Success
	}
	return RowError
}

// Errors checked with errors.Is.
var (
	// ErrRunStopping: the service refused the account (wrong user name,
	// password or caller IP; module not set) or the endpoint is wrong.
	// Nothing else will succeed in this run.
	ErrRunStopping = errors.New("officetrack: run-stopping error")
	// ErrTransient: the service is busy or failing; retrying later may work.
	// Returned after the client's own retries are used up.
	ErrTransient = errors.New("officetrack: transient error")
)

// ResultError is a non-success ResultCode answered by the service.
// errors.Is(err, ErrRunStopping) / errors.Is(err, ErrTransient) tell its
// class; otherwise it is a row error (see Class).
type ResultError struct {
	Op       string // operation: "CreateOrUpdateTask", ...
	Code     string
	CodeInt  int
	Messages []string
}

// Class returns the error's class.
func (e *ResultError) Class() Class { return Classify(e.Code, e.CodeInt) }

func (e *ResultError) Error() string {
	s := fmt.Sprintf("officetrack %s: %s", e.Op, e.Code)
	if len(e.Messages) > 0 {
		s += ": " + strings.Join(e.Messages, "; ")
	}
	switch e.Class() {
	case RunStopping:
		switch e.Code {
		case CodeInvalidCredentials:
			s += " (check the OfficeTrack user name and password of the connection, and that this machine's IP address is allowed)"
		case CodeModuleNotSet:
			s += " (the account lacks the module this operation needs; ask OfficeTrack support)"
		}
	}
	return s
}

// Is reports ErrRunStopping / ErrTransient by class.
func (e *ResultError) Is(target error) bool {
	switch target {
	case ErrRunStopping:
		return e.Class() == RunStopping
	case ErrTransient:
		return e.Class() == Transient
	case ErrTaskNotFound:
		return e.Code == CodeTaskNumberNotFound
	}
	return false
}

// FaultError is a SOAP Fault. Server-side faults are transient; client-side
// ones (soap:Client, a request the service could not read) are not.
type FaultError struct {
	Op     string
	Code   string // faultcode
	String string // faultstring
}

func (e *FaultError) Error() string {
	return fmt.Sprintf("officetrack %s: SOAP fault %s: %s", e.Op, e.Code, e.String)
}

// Client reports whether the fault blames the request (soap:Client).
func (e *FaultError) Client() bool { return strings.HasSuffix(e.Code, "Client") }

// Is reports ErrTransient for server-side faults.
func (e *FaultError) Is(target error) bool { return target == ErrTransient && !e.Client() }

// HTTPError is an HTTP answer other than 200 without a SOAP body.
// 5xx, 408 and 429 are transient; 401, 403 and 404 stop the run (wrong
// account or URL); others are row errors.
type HTTPError struct {
	Op     string
	Status int
	Body   string // the start of the body, for the message
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("officetrack %s: HTTP %d", e.Op, e.Status)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Is reports the class by status.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrTransient:
		return e.Status >= 500 || e.Status == 408 || e.Status == 429
	case ErrRunStopping:
		return e.Status == 401 || e.Status == 403 || e.Status == 404
	}
	return false
}

// ClassOf sorts any error returned by the client: nil is Success.
// Network errors and timeouts are Transient.
func ClassOf(err error) Class {
	switch {
	case err == nil:
		return Success
	case errors.Is(err, ErrRunStopping):
		return RunStopping
	case errors.Is(err, ErrTransient):
		return Transient
	}
	return RowError
}
