package boxsync

import "fmt"

// Message keys.
const (
	msgNoCode      = "no_code"
	msgNoType      = "no_type"
	msgRejected    = "rejected"
	msgConflict    = "conflict"
	msgFailed      = "failed"
	msgCodeChanged = "code_changed"
	msgOZmap401    = "ozmap_401"
	msgSytex401    = "sytex_401"
	msgSytex403    = "sytex_403"
	msgSytexDown   = "sytex_down"
	msgOZmapList   = "ozmap_list"
	msgLedger      = "ledger"
	msgSummary     = "summary"
	msgProjects    = "projects"
	msgSameCode    = "same_code"
)

var messages = map[string]map[string]string{
	"pt-BR": {
		msgNoCode:      "a caixa não tem nome, então o código do elemento de rede ficaria vazio: dê um nome à caixa no OZmap",
		msgNoType:      "não há ne_type para o tipo de caixa %q: acrescente-o em ne_types ou defina default_ne_type na configuração",
		msgRejected:    "o Sytex recusou o elemento de rede %q: %s",
		msgConflict:    "%d elementos de rede no Sytex têm o código %q (ids %s): deixe só um no Sytex; a caixa não foi enviada",
		msgFailed:      "não foi possível enviar a caixa ao Sytex (tenta de novo na próxima execução): %v",
		msgCodeChanged: "o código da caixa mudou para %q; o elemento com o código antigo continua no Sytex",
		msgOZmap401:    "o OZmap recusou a chave da conexão %q (401): confira key (ou login/password) na configuração; execução interrompida",
		msgSytex401:    "o Sytex recusou o token da conexão %q (401): confira token e organization na configuração; execução interrompida",
		msgSytex403:    "o Sytex negou acesso à conexão %q (403): o usuário do token não tem permissão nessa organização; execução interrompida",
		msgSytexDown:   "o Sytex não responde (%d falhas seguidas, a última: %v); execução interrompida, as caixas pendentes vão na próxima",
		msgOZmapList:   "não foi possível ler as caixas do OZmap: %v",
		msgLedger:      "não foi possível gravar no ledger: %v; execução interrompida para não enviar nada duas vezes",
		msgSummary:     "caixas lidas %d, criadas %d, atualizadas %d, sem mudança %d, com falha %d, conflitos %d, ignoradas %d",
		msgSameCode:    "outra caixa do OZmap (id %[2]s) já usa o código %[1]q: renomeie uma das duas no OZmap; esta não foi enviada",
		msgProjects:    "projects: %q não é um projeto que a chave do OZmap enxerga (projetos: %s)",
	},
	"es": {
		msgNoCode:      "la caja no tiene nombre, así que el código del elemento de red quedaría vacío: póngale un nombre en OZmap",
		msgNoType:      "no hay ne_type para el tipo de caja %q: agréguelo en ne_types o defina default_ne_type en la configuración",
		msgRejected:    "Sytex rechazó el elemento de red %q: %s",
		msgConflict:    "%d elementos de red en Sytex tienen el código %q (ids %s): deje solo uno en Sytex; la caja no se envió",
		msgFailed:      "no se pudo enviar la caja a Sytex (se reintenta en la próxima ejecución): %v",
		msgCodeChanged: "el código de la caja cambió a %q; el elemento con el código anterior sigue en Sytex",
		msgOZmap401:    "OZmap rechazó la clave de la conexión %q (401): revise key (o login/password) en la configuración; ejecución detenida",
		msgSytex401:    "Sytex rechazó el token de la conexión %q (401): revise token y organization en la configuración; ejecución detenida",
		msgSytex403:    "Sytex negó el acceso a la conexión %q (403): el usuario del token no tiene permiso en esa organización; ejecución detenida",
		msgSytexDown:   "Sytex no responde (%d fallas seguidas, la última: %v); ejecución detenida, las cajas pendientes van en la próxima",
		msgOZmapList:   "no se pudieron leer las cajas de OZmap: %v",
		msgLedger:      "no se pudo escribir en el ledger: %v; ejecución detenida para no enviar nada dos veces",
		msgSummary:     "cajas leídas %d, creadas %d, actualizadas %d, sin cambios %d, con falla %d, conflictos %d, omitidas %d",
		msgSameCode:    "otra caja de OZmap (id %[2]s) ya usa el código %[1]q: renombre una de las dos en OZmap; esta no se envió",
		msgProjects:    "projects: %q no es un proyecto visible para la clave de OZmap (proyectos: %s)",
	},
	"en": {
		msgNoCode:      "the box has no name, so the network element's code would be empty: name the box in OZmap",
		msgNoType:      "no ne_type for box type %q: add it to ne_types or set default_ne_type in the configuration",
		msgRejected:    "Sytex refused network element %q: %s",
		msgConflict:    "%d network elements in Sytex have code %q (ids %s): keep only one in Sytex; the box was not sent",
		msgFailed:      "could not send the box to Sytex (retried on the next run): %v",
		msgCodeChanged: "the box's code changed to %q; the element with the old code stays in Sytex",
		msgOZmap401:    "OZmap refused the key of connection %q (401): check key (or login/password) in the configuration; run stopped",
		msgSytex401:    "Sytex refused the token of connection %q (401): check token and organization in the configuration; run stopped",
		msgSytex403:    "Sytex denied connection %q (403): the token's user lacks permission in that organization; run stopped",
		msgSytexDown:   "Sytex is not answering (%d failures in a row, the last: %v); run stopped, the remaining boxes go next time",
		msgOZmapList:   "could not read the boxes from OZmap: %v",
		msgLedger:      "could not write to the ledger: %v; run stopped so that nothing is sent twice",
		msgSummary:     "boxes read %d, created %d, updated %d, unchanged %d, failed %d, conflicts %d, skipped %d",
		msgSameCode:    "another OZmap box (id %[2]s) already uses code %[1]q: rename one of them in OZmap; this one was not sent",
		msgProjects:    "projects: %q is not a project the OZmap key can see (projects: %s)",
	},
}

// msg formats message key in lang (pt-BR when unknown).
func msg(lang, key string, args ...any) string {
	m, ok := messages[lang]
	if !ok {
		m = messages["pt-BR"]
	}
	return fmt.Sprintf(m[key], args...)
}
