package officetrack

import "bytes"

// AppendTaskXML exposes the client's reflection-free task writer to tests.
func AppendTaskXML(t *Task) []byte {
	var b bytes.Buffer
	t.appendXML(&b)
	return b.Bytes()
}

// DecodeAnswer exposes the answer decoder to the fuzz test.
func DecodeAnswer(op string, status int, data []byte) (TaskResult, error) {
	var res struct {
		R TaskResult `xml:"CreateOrUpdateTaskResult"`
	}
	err := decodeAnswer(op, status, data, &res)
	return res.R, err
}
