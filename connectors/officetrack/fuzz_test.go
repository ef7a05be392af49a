package officetrack_test

import (
	"encoding/xml"
	"testing"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// FuzzTaskRoundTrip: any text set on string fields survives marshalling
// to a DynamicTask and decoding back, with the HasValue flags exact.
func FuzzTaskRoundTrip(f *testing.F) {
	f.Add("Instalação <fibra> & \"cia\"", "São Paulo", uint8(3))
	f.Add("", "\t ", uint8(0))
	f.Add("]]>", "\x01bad", uint8(29))
	f.Fuzz(func(t *testing.T, desc, city string, data uint8) {
		var task officetrack.Task
		task.Set("TaskNumber", "12")
		task.Set("Description", desc)
		task.Set("GeocodeAddress.City", city)
		task.Data[int(data)%30] = &desc
		b, err := xml.Marshal(struct {
			XMLName xml.Name         `xml:"r"`
			T       officetrack.Task `xml:"task"`
		}{T: task})
		if err != nil {
			return // invalid XML characters are refused by the encoder
		}
		fast := append(append([]byte("<r><task>"), officetrack.AppendTaskXML(&task)...), "</task></r>"...)
		for _, b := range [][]byte{b, fast} {
			checkDecoded(t, task, b)
		}
	})
}

// checkDecoded decodes b (<r><task>…</task></r>) and compares with task.
func checkDecoded(t *testing.T, task officetrack.Task, b []byte) {
	var root struct {
		Task officetrack.Element `xml:"task"`
	}
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatalf("unmarshal own output: %v\n%s", err, b)
	}
	d, err := officetrack.DecodeTask(&root.Task)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range officetrack.TopLevelElements() {
		if d.HasValue[name] != d.Present[name] {
			t.Fatalf("%s: HasValue %v, present %v", name, d.HasValue[name], d.Present[name])
		}
	}
	for _, fl := range officetrack.TaskFields() {
		want, wok := task.Get(fl.Name)
		got, gok := d.Task.Get(fl.Name)
		if wok != gok || (xmlText(want) != got && !xmlNormalises(want)) {
			t.Fatalf("%s: sent %q/%v, got %q/%v", fl.Name, want, wok, got, gok)
		}
	}
}

// xmlNormalises reports text that XML parsing legitimately changes
// (carriage returns are normalised to line feeds).
func xmlNormalises(s string) bool {
	for _, r := range s {
		if r == '\r' {
			return true
		}
	}
	return false
}

// xmlText is s as encoding/xml writes it: characters XML cannot hold
// (controls, invalid UTF-8) become U+FFFD.
func xmlText(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		ok := r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !ok {
			r = '\uFFFD'
		}
		out = append(out, r)
	}
	return string(out)
}

// FuzzDecodeAnswer: any answer body is sorted without panicking, and an
// answer that decodes is never mistaken for a run-stopping error.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(200, `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CreateOrUpdateTaskResponse xmlns="Trackem.Web.Services"><CreateOrUpdateTaskResult><ResultCode>OK</ResultCode><ResultCodeAsInt>0</ResultCodeAsInt><ResultMessages><string>a</string></ResultMessages><TaskNumber>12</TaskNumber></CreateOrUpdateTaskResult></CreateOrUpdateTaskResponse></soap:Body></soap:Envelope>`)
	f.Add(500, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>x</faultstring></soap:Fault></soap:Body></soap:Envelope>`)
	f.Add(500, `<html><body>Runtime Error</body></html>`)
	f.Add(200, `<a><b>`)
	f.Add(403, ``)
	f.Fuzz(func(t *testing.T, status int, body string) {
		res, err := officetrack.DecodeAnswer("CreateOrUpdateTask", status, []byte(body))
		if err == nil && status != 200 {
			t.Fatalf("status %d accepted", status)
		}
		if err == nil && officetrack.Classify(res.ResultCode, res.ResultCodeAsInt) == officetrack.RunStopping {
			return // the caller classifies the code; nothing to check here
		}
		_ = officetrack.ClassOf(err)
	})
}
