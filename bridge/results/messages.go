package results

import "fmt"

// Message ids of the texts people read in run reports.
const (
	msgUnsafeName = iota
	msgTooLarge
	msgCollision
	msgDownloadFailing
	msgDeleteFailed
	msgArchiveFailed
	msgForwardFailed
	msgTargetFailing
	msgNameTooLong
)

var messages = map[string][]string{
	"pt-BR": {
		msgUnsafeName:      "O nome remoto %q não é um nome de arquivo seguro e o arquivo não foi baixado (%v). Renomeie ou remova o arquivo em %s.",
		msgTooLarge:        "%s em %s tem %d bytes, mais que max_file_size (%d), e não foi baixado. Aumente max_file_size ou remova o arquivo.",
		msgCollision:       "%s já existe em %s e on_collision = \"fail\": o arquivo fica na origem até que a cópia do destino seja movida.",
		msgDownloadFailing: "O download de %s de %s falhou %d vezes (último erro: %v). Ele é tentado de novo a cada verificação; confira a conexão.",
		msgDeleteFailed:    "%s já está seguro na pasta do cliente, mas não pôde ser apagado em %s: %v. Será tentado de novo na próxima verificação.",
		msgArchiveFailed:   "%s já está seguro na pasta do cliente, mas não pôde ser arquivado em %s: %v. Será tentado de novo na próxima verificação.",
		msgForwardFailed:   "O encaminhamento para %s falhou: %v. Será tentado de novo na próxima execução.",
		msgTargetFailing:   "A pasta do cliente %s não respondeu: %v. Os arquivos ficam na origem e são tentados de novo na próxima verificação.",
		msgNameTooLong:     "%q em %s não cabe na pasta do cliente %s: %s passa do limite de %d bytes por nome (%v). O arquivo fica na origem e não é tentado de novo; renomeie-o com um nome mais curto.",
	},
	"es": {
		msgUnsafeName:      "El nombre remoto %q no es un nombre de archivo seguro y el archivo no se descargó (%v). Renombre o elimine el archivo en %s.",
		msgTooLarge:        "%s en %s tiene %d bytes, más que max_file_size (%d), y no se descargó. Aumente max_file_size o elimine el archivo.",
		msgCollision:       "%s ya existe en %s y on_collision = \"fail\": el archivo queda en el origen hasta que se mueva la copia del destino.",
		msgDownloadFailing: "La descarga de %s desde %s falló %d veces (último error: %v). Se reintenta en cada revisión; verifique la conexión.",
		msgDeleteFailed:    "%s ya está seguro en la carpeta del cliente, pero no se pudo eliminar en %s: %v. Se reintentará en la próxima revisión.",
		msgArchiveFailed:   "%s ya está seguro en la carpeta del cliente, pero no se pudo archivar en %s: %v. Se reintentará en la próxima revisión.",
		msgForwardFailed:   "El reenvío a %s falló: %v. Se reintentará en la próxima ejecución.",
		msgTargetFailing:   "La carpeta del cliente %s no respondió: %v. Los archivos quedan en el origen y se reintentan en la próxima revisión.",
		msgNameTooLong:     "%q en %s no cabe en la carpeta del cliente %s: %s pasa el límite de %d bytes por nombre (%v). El archivo queda en el origen y no se reintenta; renómbrelo con un nombre más corto.",
	},
	"en": {
		msgUnsafeName:      "The remote name %q is not a safe file name and the file was not taken (%v). Rename or remove it on %s.",
		msgTooLarge:        "%s on %s has %d bytes, more than max_file_size (%d), and was not taken. Raise max_file_size or remove the file.",
		msgCollision:       "%s is already in %s and on_collision = \"fail\": the file stays on the source until the target's copy is moved away.",
		msgDownloadFailing: "Downloading %s from %s failed %d times (last error: %v). It is tried again at every poll; check the connection.",
		msgDeleteFailed:    "%s is safely in the customer's folder but could not be deleted on %s: %v. It is tried again at the next poll.",
		msgArchiveFailed:   "%s is safely in the customer's folder but could not be archived on %s: %v. It is tried again at the next poll.",
		msgForwardFailed:   "Forwarding to %s failed: %v. It is tried again at the next run.",
		msgTargetFailing:   "The customer's folder %s did not answer: %v. The files stay on the source and are tried again at the next poll.",
		msgNameTooLong:     "%q on %s does not fit in the customer's folder %s: %s is longer than the limit of %d bytes per name (%v). The file stays on the source and is not tried again; rename it with a shorter name.",
	},
}

// msg formats a message in the configured language (pt-BR by default).
func (j *Job) msg(id int, args ...any) string {
	lang := "pt-BR"
	if j.env != nil && j.env.Config != nil {
		if _, ok := messages[j.env.Config.Language]; ok {
			lang = j.env.Config.Language
		}
	}
	return fmt.Sprintf(messages[lang][id], args...)
}
