package sheets

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// A clerk asks for rows to be sent again, although OfficeTrack already
// holds them (the technician lost the task), with a column of the sheet:
// "reenviar" (pt-BR, es), "resend" (en), or "reenvio"/"reenvío", set to
// yes (sim, sí, yes, x, 1, true) on those rows.

// resendHeaders are the accepted headers, folded (see fold).
var resendHeaders = map[string]bool{"reenviar": true, "resend": true, "reenvio": true, "re-enviar": true, "send again": true, "enviar de novo": true, "enviar de nuevo": true}

// yesWords are the cell values that ask for a re-send, folded.
var yesWords = map[string]bool{"sim": true, "s": true, "si": true, "yes": true, "y": true, "x": true, "1": true,
	"true": true, "verdadeiro": true, "verdadero": true}

// resendColumn returns the 0-based column of the resend header, or -1.
func resendColumn(headers []string) int {
	for i, h := range headers {
		if resendHeaders[fold(h)] {
			return i
		}
	}
	return -1
}

// yes reports whether a resend cell asks for a re-send.
func yes(v string) bool { return yesWords[fold(v)] }

// fold lower-cases s, drops accents and surrounding spaces and a final
// "?" ("Reenviar?").
func fold(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSpace(strings.TrimSuffix(s, "?"))
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if r >= 0x300 && r <= 0x36f { // combining accents
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
