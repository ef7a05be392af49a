package officetrack

import "bytes"

// AppendTaskXML exposes the client's reflection-free task writer to tests.
func AppendTaskXML(t *Task) []byte {
	var b bytes.Buffer
	t.appendXML(&b)
	return b.Bytes()
}
