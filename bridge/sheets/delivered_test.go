package sheets

import (
	"fmt"
	"testing"

	"github.com/fieldbridge/fieldbridge/mapping"
)

func TestChanges(t *testing.T) {
	tests := []struct {
		old, new map[string]string
		want     string
	}{
		{map[string]string{"A": "1", "B": "x"}, map[string]string{"A": "1", "B": "x"}, "[]"},
		{map[string]string{"A": "1"}, map[string]string{"A": "2"}, `[A: "1" → "2"]`},
		{map[string]string{"A": "1"}, map[string]string{"A": "1", "C": "novo"}, `[C: → "novo"]`},
		{map[string]string{"A": "1", "B": "x"}, map[string]string{"A": "1"}, "[]"}, // a field no longer set is left alone
	}
	for _, tt := range tests {
		if got := fmt.Sprint(changes(tt.old, tt.new, nil)); got != tt.want {
			t.Errorf("changes(%v, %v) = %s, want %s", tt.old, tt.new, got, tt.want)
		}
	}
	label := func(f string) string { return map[string]string{"A": "Coluna A"}[f] }
	if got := fmt.Sprint(changes(map[string]string{"A": "1", "B": "x"}, map[string]string{"A": "2", "B": "y"}, label)); got != `[Coluna A: "1" → "2" B: "x" → "y"]` {
		t.Errorf("labelled changes: %s", got)
	}
	a := valuesHash(map[string]string{"A": "1", "B": "2"})
	if a != valuesHash(map[string]string{"B": "2", "A": "1"}) || a == valuesHash(map[string]string{"A": "12"}) || a == valuesHash(map[string]string{"A": "1", "B": "2 "}) {
		t.Error("valuesHash depends on order, or confuses contents")
	}
}

func TestResendColumnAndWords(t *testing.T) {
	for _, tt := range []struct {
		headers []string
		col     int
	}{
		{[]string{"OS", "Descrição", "Reenviar"}, 2},
		{[]string{"OS", " reenviar? "}, 1},
		{[]string{"Resend", "OS"}, 0},
		{[]string{"Reenvío"}, 0},
		{[]string{"OS", "Enviar"}, -1},
	} {
		if got := resendColumn(tt.headers); got != tt.col {
			t.Errorf("resendColumn(%q) = %d, want %d", tt.headers, got, tt.col)
		}
	}
	for v, want := range map[string]bool{"sim": true, "Sí": true, "YES": true, " x ": true, "1": true, "não": false, "no": false, "": false, "0": false} {
		if yes(v) != want {
			t.Errorf("yes(%q) = %v", v, !want)
		}
	}
}

func TestNormalizeKey(t *testing.T) {
	for in, want := range map[string]string{"123": "task:123", "task:9": "task:9", "poi:C-1": "poi:C-1", "C-1": "poi:C-1", " 77 ": "task:77"} {
		if got := NormalizeKey(in); got != want {
			t.Errorf("NormalizeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReportColumns(t *testing.T) {
	for _, tt := range []struct {
		headers []string
		want    int
	}{
		{[]string{"OS", "Descrição", "status", "mensagem"}, 2},
		{[]string{"OS", "estado", "mensaje", ""}, 1},
		{[]string{"OS", "Status", "Message"}, 1},
		{[]string{"Status", "OS"}, -1}, // a sheet's own Status column
		{[]string{"mensagem"}, -1},
	} {
		if got := mapping.ReportColumns(tt.headers); got != tt.want {
			t.Errorf("ReportColumns(%q) = %d, want %d", tt.headers, got, tt.want)
		}
	}
}
