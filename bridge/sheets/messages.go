package sheets

import "fmt"

// Message ids of the texts people read in reports and problems.
const (
	msgDuplicate = iota
	msgWaiting
	msgHeld
	msgInImportFile
	msgSummary
	msgSummaryFTP
	msgNoRows
	msgAlreadySent
	msgUpdated
	msgResent
	msgConfirmed
	msgSummaryAlready
	msgNoCustomerNumber
)

var messages = map[string][]string{
	"pt-BR": {
		msgDuplicate:        "Arquivo duplicado: o mesmo conteúdo já foi recebido como %q (%s) e enviado em %s. Nada foi enviado de novo.",
		msgWaiting:          "A planilha ficou aguardando e será reenviada na próxima execução: %s",
		msgHeld:             "Não enviada: a planilha tem %d linha(s) com erro e está configurada como tudo-ou-nada. Corrija as linhas com erro e envie a planilha de novo.",
		msgInImportFile:     "Incluída no arquivo de importação %s",
		msgSummary:          "%d enviadas, %d recusadas pelo OfficeTrack, %d com erro de validação, %d não enviadas",
		msgSummaryFTP:       "%d linhas no arquivo de importação, %d com erro de validação, %d não enviadas",
		msgNoRows:           "A planilha não tem linhas de dados.",
		msgAlreadySent:      "já enviada em %s (sem mudança)",
		msgUpdated:          "atualizada: %s",
		msgResent:           "enviada de novo a pedido (coluna reenviar)",
		msgConfirmed:        "o OfficeTrack já tinha recebido esta linha antes de uma interrupção; não foi enviada de novo",
		msgSummaryAlready:   ", %d já enviadas antes (sem mudança)",
		msgNoCustomerNumber: "Não enviada: falta o código do cliente (customerNumber), pelo qual o OfficeTrack identifica o ponto de interesse. Preencha a coluna mapeada para customerNumber.",
	},
	"es": {
		msgDuplicate:        "Archivo duplicado: el mismo contenido ya se recibió como %q (%s) y se envió el %s. No se envió nada de nuevo.",
		msgWaiting:          "La planilla quedó en espera y se enviará en la próxima ejecución: %s",
		msgHeld:             "No enviada: la planilla tiene %d fila(s) con error y está configurada como todo-o-nada. Corrija las filas con error y envíe la planilla de nuevo.",
		msgInImportFile:     "Incluida en el archivo de importación %s",
		msgSummary:          "%d enviadas, %d rechazadas por OfficeTrack, %d con error de validación, %d no enviadas",
		msgSummaryFTP:       "%d filas en el archivo de importación, %d con error de validación, %d no enviadas",
		msgNoRows:           "La planilla no tiene filas de datos.",
		msgAlreadySent:      "ya enviada el %s (sin cambios)",
		msgUpdated:          "actualizada: %s",
		msgResent:           "enviada de nuevo a pedido (columna reenviar)",
		msgConfirmed:        "OfficeTrack ya había recibido esta fila antes de una interrupción; no se envió de nuevo",
		msgSummaryAlready:   ", %d ya enviadas antes (sin cambios)",
		msgNoCustomerNumber: "No enviada: falta el código de cliente (customerNumber), con el que OfficeTrack identifica el punto de interés. Complete la columna asignada a customerNumber.",
	},
	"en": {
		msgDuplicate:        "Duplicate file: the same content was already received as %q (%s) and sent on %s. Nothing was sent again.",
		msgWaiting:          "The sheet is waiting and will be sent on the next run: %s",
		msgHeld:             "Not sent: the sheet has %d row(s) with errors and is set to all-or-nothing. Fix the rows with errors and send the sheet again.",
		msgInImportFile:     "Included in the import file %s",
		msgSummary:          "%d sent, %d refused by OfficeTrack, %d failed validation, %d not sent",
		msgSummaryFTP:       "%d rows in the import file, %d failed validation, %d not sent",
		msgNoRows:           "The sheet has no data rows.",
		msgAlreadySent:      "already sent on %s (no change)",
		msgUpdated:          "updated: %s",
		msgResent:           "sent again as asked (resend column)",
		msgConfirmed:        "OfficeTrack had received this row before an interruption; it was not sent again",
		msgSummaryAlready:   ", %d already sent before (no change)",
		msgNoCustomerNumber: "Not sent: the customer number (customerNumber), by which OfficeTrack knows a point of interest, is empty. Fill the column mapped to customerNumber.",
	},
}

// lang is the language of messages ("pt-BR", "es", "en").
func (j *job) lang() string {
	if l := configLanguage(j); l != "" {
		if _, ok := messages[l]; ok {
			return l
		}
	}
	return "pt-BR"
}

func (j *job) msg(id int, args ...any) string {
	return fmt.Sprintf(messages[j.lang()][id], args...)
}

// summaryLine is the one-line summary of a file.
func summaryLine(j *job, s summary) string {
	if s.Note != "" {
		return s.Note
	}
	line := j.msg(msgSummary, s.Sent, s.Failed, s.Rejected, s.Held)
	if j.opts.Delivery == DeliveryFTP {
		line = j.msg(msgSummaryFTP, s.Sent, s.Rejected, s.Held)
	}
	if s.Already > 0 {
		line += j.msg(msgSummaryAlready, s.Already)
	}
	return line
}
