package bridge

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// reportWords are the labels of a printed run report, by language.
var reportWords = map[string]map[string]string{
	"pt-BR": {"job": "Tarefa", "run": "execução", "outcome": "Resultado", "started": "Início", "duration": "Duração",
		"counts": "Contagens", "none": "nenhuma", "problems": "Problemas", "error": "Erro",
		"ok": "ok", "partial": "parcial (alguns itens não foram entregues)", "failed": "falhou", "stopped": "interrompida (continua na próxima execução)", "running": "em andamento"},
	"es": {"job": "Tarea", "run": "ejecución", "outcome": "Resultado", "started": "Inicio", "duration": "Duración",
		"counts": "Conteos", "none": "ninguno", "problems": "Problemas", "error": "Error",
		"ok": "ok", "partial": "parcial (algunos ítems no se entregaron)", "failed": "falló", "stopped": "interrumpida (continúa en la próxima ejecución)", "running": "en curso"},
	"en": {"job": "Job", "run": "run", "outcome": "Outcome", "started": "Started", "duration": "Duration",
		"counts": "Counts", "none": "none", "problems": "Problems", "error": "Error",
		"ok": "ok", "partial": "partial (some items were not delivered)", "failed": "failed", "stopped": "stopped (resumes on the next run)", "running": "running"},
}

// maxReportProblems bounds the problems a printed report lists.
const maxReportProblems = 100

// WriteReport prints a run report for a person, in lang ("pt-BR", "es",
// "en"; others fall back to pt-BR) with times in loc.
func WriteReport(w io.Writer, r *RunReport, lang string, loc *time.Location) {
	words, ok := reportWords[lang]
	if !ok {
		words = reportWords["pt-BR"]
	}
	if loc == nil {
		loc = time.Local
	}
	outcome := words[r.Run.Outcome]
	if outcome == "" {
		outcome = r.Run.Outcome
	}
	fmt.Fprintf(w, "%s: %s (%s #%d)\n", words["job"], r.Run.Job, words["run"], r.Run.ID)
	fmt.Fprintf(w, "%s: %s\n", words["outcome"], outcome)
	fmt.Fprintf(w, "%s: %s\n", words["started"], r.Run.Started.In(loc).Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "%s: %s\n", words["duration"], r.Duration().Round(time.Millisecond))
	counts := summary(r.Run.Counts, nil)
	if counts == "" {
		counts = words["none"]
	}
	fmt.Fprintf(w, "%s: %s\n", words["counts"], counts)
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "%s (%d):\n", words["problems"], len(r.Problems))
		shown := r.Problems
		if len(shown) > maxReportProblems {
			shown = shown[:maxReportProblems]
		}
		for _, p := range shown {
			item := p.Item
			if item != "" {
				item += ": "
			}
			fmt.Fprintf(w, "  - %s%s\n", item, strings.ReplaceAll(p.Message, "\n", "\n    "))
		}
	}
	if len(r.Problems) > maxReportProblems {
		fmt.Fprintf(w, "  … +%d\n", len(r.Problems)-maxReportProblems)
	}
	if r.Err != nil {
		fmt.Fprintf(w, "%s: %s\n", words["error"], r.Run.Message)
	}
}
