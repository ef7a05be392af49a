package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

func TestWriteReport(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	rep := &RunReport{
		Run: ledger.Run{ID: 7, Job: "sheets", Started: t0, Ended: t0.Add(1500 * time.Millisecond),
			Counts: map[string]int64{"sent": 3, "failed": 1}, Outcome: ledger.OutcomePartial, Message: "x"},
		Problems: []Problem{{Item: "tasks.xlsx row 4", Message: "column C (date) is empty\nfill it in"}},
	}
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	for lang, want := range map[string][]string{
		"pt-BR": {"Tarefa: sheets (execução #7)", "Resultado: parcial", "Início: 2026-11-20 06:00:00 -03", "Duração: 1.5s", "Contagens: failed=1 sent=3", "Problemas (1):", "  - tasks.xlsx row 4: column C (date) is empty\n    fill it in"},
		"es":    {"Tarea: sheets", "Resultado: parcial (algunos"},
		"en":    {"Job: sheets (run #7)", "Outcome: partial (some items were not delivered)"},
		"xx":    {"Tarefa: sheets"},
	} {
		var b bytes.Buffer
		WriteReport(&b, rep, lang, sp)
		for _, w := range want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s report lacks %q:\n%s", lang, w, b.String())
			}
		}
	}
	rep.Err = errors.New("down")
	rep.Run.Message = "target down"
	rep.Problems = make([]Problem, maxReportProblems+5)
	var b bytes.Buffer
	WriteReport(&b, rep, "en", nil)
	if !strings.Contains(b.String(), "Error: target down") || !strings.Contains(b.String(), "… +5") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestNewLogger(t *testing.T) {
	var b bytes.Buffer
	l, err := NewLogger(&b, LogConfig{Level: "warn", Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.With("job", "j", "run", 3).Warn("shown")
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil || m["msg"] != "shown" || m["run"] != float64(3) {
		t.Fatalf("log = %s (%v)", b.String(), err)
	}
	if _, err := NewLogger(&b, LogConfig{Level: "loud"}); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := NewLogger(&b, LogConfig{Level: "info", Format: "xml"}); err == nil {
		t.Error("bad format accepted")
	}
}
