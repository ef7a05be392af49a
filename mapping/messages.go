package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// Languages of messages.
const (
	LangPT = "pt-BR" // default
	LangES = "es"
	LangEN = "en"
)

// msgKey names one message; each language has a text for it, in
// fmt syntax with the arguments documented beside the key.
type msgKey string

const (
	mRowPrefix       msgKey = "row_prefix"       // row, column letter, header
	mRowPrefixNoCol  msgKey = "row_prefix_nocol" // row, field
	mValue           msgKey = "value"            // value
	mRequired        msgKey = "required"         // field
	mNotNumber       msgKey = "not_number"
	mNotInteger      msgKey = "not_integer"
	mNotDate         msgKey = "not_date"
	mBadDate         msgKey = "bad_date"
	mNotCoords       msgKey = "not_coords"
	mLatRange        msgKey = "lat_range"
	mLngRange        msgKey = "lng_range"
	mNotPhone        msgKey = "not_phone"
	mNotEmail        msgKey = "not_email"
	mNotBool         msgKey = "not_bool"
	mTooLarge        msgKey = "too_large"
	mPattern         msgKey = "pattern"   // pattern
	mOneOf           msgKey = "one_of"    // list
	mMin             msgKey = "min"       // min
	mMax             msgKey = "max"       // max
	mMinLen          msgKey = "min_len"   // min
	mMaxLen          msgKey = "max_len"   // max
	mDuplicate       msgKey = "duplicate" // first row
	mColumnMissing   msgKey = "column_missing"
	mHeaderNotFound  msgKey = "header_not_found"
	mStatus          msgKey = "col_status"
	mMessage         msgKey = "col_message"
	mSummarySent     msgKey = "summary_sent"     // n
	mSummaryRejected msgKey = "summary_rejected" // n
	mSummaryOther    msgKey = "summary_other"    // n, status
	mSummarySheet    msgKey = "summary_sheet"
	mStatusOK        msgKey = "status_ok"
	mStatusRejected  msgKey = "status_rejected"
	mStatusFailed    msgKey = "status_failed"
	mStatusSkipped   msgKey = "status_skipped"
	mStatusAlready   msgKey = "status_already"
	mFile            msgKey = "file"            // file name, text
	mNoSuchMapping   msgKey = "no_such_mapping" // name, names
	mNoMapping       msgKey = "no_mapping"
	mAmbiguous       msgKey = "ambiguous" // names
	mNoRows          msgKey = "no_rows"
	mNoSheetNamed    msgKey = "no_sheet_named"   // sheet, sheets
	mColumnsMissing  msgKey = "columns_missing"  // "column" (field), …; columns found
	mHeaderElsewhere msgKey = "header_elsewhere" // mapping, header_row, probable row, columns found there
	mFileNotFound    msgKey = "file_not_found"
)

var messages = map[string]map[msgKey]string{
	LangPT: {
		mNoSheetNamed:    "não tem a aba %q pedida pelo mapeamento; abas da planilha: %s",
		mColumnsMissing:  "faltam colunas do mapeamento: %s; colunas encontradas: %s",
		mHeaderElsewhere: "o mapeamento %q diz que o cabeçalho está na linha %d, mas as colunas dele estão provavelmente na linha %d; corrija header_row (ou apague-o para que seja encontrado sozinho). Colunas da linha %[3]d: %s",
		mFileNotFound:    "não foi encontrado; confira o nome e a pasta",
		mRowPrefix:       "Linha %d, coluna %s (%s)",
		mRowPrefixNoCol:  "Linha %d, campo %s",
		mValue:           "valor %q",
		mRequired:        "está vazio; o campo %s é obrigatório — preencha-o",
		mNotNumber:       "não é um número; use por exemplo 1234,56",
		mNotInteger:      "não é um número inteiro; use por exemplo 1234",
		mNotDate:         "não é uma data; use dd/mm/aaaa ou dd/mm/aaaa hh:mm",
		mBadDate:         "é uma data ou hora impossível; confira dia, mês e hora",
		mNotCoords:       "não são coordenadas; use por exemplo -23,5505 ou \"-23.5505, -46.6333\"",
		mLatRange:        "latitude fora do intervalo -90 a 90; confira se latitude e longitude não estão trocadas",
		mLngRange:        "longitude fora do intervalo -180 a 180",
		mNotPhone:        "não é um telefone; use de 8 a 15 dígitos, por exemplo (11) 98765-4321",
		mNotEmail:        "não é um e-mail; use nome@dominio.com.br",
		mNotBool:         "não é sim/não; use sim ou não",
		mTooLarge:        "é um número grande demais",
		mPattern:         "não está no formato esperado (%s)",
		mOneOf:           "não é um valor aceito; use um de: %s",
		mMin:             "é menor que o mínimo %v",
		mMax:             "é maior que o máximo %v",
		mMinLen:          "é curto demais (mínimo %v caracteres)",
		mMaxLen:          "é longo demais (máximo %v caracteres)",
		mDuplicate:       "repete o valor da linha %d; cada linha precisa de um valor diferente",
		mColumnMissing:   "a coluna %q (campo %s) não existe na planilha; colunas encontradas: %s",
		mHeaderNotFound:  "não encontrei a linha de cabeçalho com as colunas do mapeamento %q nas primeiras %d linhas",
		mStatus:          "status",
		mMessage:         "mensagem",
		mSummarySent:     "%d enviadas",
		mSummaryRejected: "%d rejeitadas",
		mSummaryOther:    "%d %s",
		mSummarySheet:    "Resumo",
		mStatusOK:        "enviada",
		mStatusRejected:  "rejeitada",
		mStatusFailed:    "falhou",
		mStatusSkipped:   "ignorada",
		mStatusAlready:   "já enviada",
		mFile:            "Arquivo %s: %s",
		mNoSuchMapping:   "o mapeamento %q não existe; mapeamentos disponíveis: %s",
		mNoMapping:       "nenhum mapeamento reconhece as colunas desta planilha; confira o cabeçalho ou crie um mapeamento (fieldbridge mapping init)",
		mNoRows:          "a planilha não tem linhas; confira se é o arquivo certo e a aba certa",
		mAmbiguous:       "as colunas servem igualmente para os mapeamentos %s; renomeie o arquivo para um padrão de um deles ou use uma pasta por mapeamento",
	},
	LangES: {
		mNoSheetNamed:    "no tiene la hoja %q pedida por el mapeo; hojas del archivo: %s",
		mColumnsMissing:  "faltan columnas del mapeo: %s; columnas encontradas: %s",
		mHeaderElsewhere: "el mapeo %q dice que el encabezado está en la fila %d, pero sus columnas están probablemente en la fila %d; corrija header_row (o bórrelo para que se encuentre solo). Columnas de la fila %[3]d: %s",
		mFileNotFound:    "no se encontró; revise el nombre y la carpeta",
		mRowPrefix:       "Fila %d, columna %s (%s)",
		mRowPrefixNoCol:  "Fila %d, campo %s",
		mValue:           "valor %q",
		mRequired:        "está vacío; el campo %s es obligatorio — complételo",
		mNotNumber:       "no es un número; use por ejemplo 1234,56",
		mNotInteger:      "no es un número entero; use por ejemplo 1234",
		mNotDate:         "no es una fecha; use dd/mm/aaaa o dd/mm/aaaa hh:mm",
		mBadDate:         "es una fecha u hora imposible; revise día, mes y hora",
		mNotCoords:       "no son coordenadas; use por ejemplo -23,5505 o \"-23.5505, -46.6333\"",
		mLatRange:        "latitud fuera del rango -90 a 90; revise si latitud y longitud están invertidas",
		mLngRange:        "longitud fuera del rango -180 a 180",
		mNotPhone:        "no es un teléfono; use de 8 a 15 dígitos, por ejemplo (11) 98765-4321",
		mNotEmail:        "no es un correo electrónico; use nombre@dominio.com",
		mNotBool:         "no es sí/no; use sí o no",
		mTooLarge:        "es un número demasiado grande",
		mPattern:         "no tiene el formato esperado (%s)",
		mOneOf:           "no es un valor aceptado; use uno de: %s",
		mMin:             "es menor que el mínimo %v",
		mMax:             "es mayor que el máximo %v",
		mMinLen:          "es demasiado corto (mínimo %v caracteres)",
		mMaxLen:          "es demasiado largo (máximo %v caracteres)",
		mDuplicate:       "repite el valor de la fila %d; cada fila necesita un valor distinto",
		mColumnMissing:   "la columna %q (campo %s) no existe en la hoja; columnas encontradas: %s",
		mHeaderNotFound:  "no encontré la fila de encabezado con las columnas del mapeo %q en las primeras %d filas",
		mStatus:          "estado",
		mMessage:         "mensaje",
		mSummarySent:     "%d enviadas",
		mSummaryRejected: "%d rechazadas",
		mSummaryOther:    "%d %s",
		mSummarySheet:    "Resumen",
		mStatusOK:        "enviada",
		mStatusRejected:  "rechazada",
		mStatusFailed:    "falló",
		mStatusSkipped:   "omitida",
		mStatusAlready:   "ya enviada",
		mFile:            "Archivo %s: %s",
		mNoSuchMapping:   "el mapeo %q no existe; mapeos disponibles: %s",
		mNoMapping:       "ningún mapeo reconoce las columnas de esta hoja; revise el encabezado o cree un mapeo (fieldbridge mapping init)",
		mNoRows:          "la hoja no tiene filas; revise que sea el archivo y la hoja correctos",
		mAmbiguous:       "las columnas sirven igual para los mapeos %s; renombre el archivo según el patrón de uno de ellos o use una carpeta por mapeo",
	},
	LangEN: {
		mNoSheetNamed:    "does not have the sheet %q the mapping asks for; its sheets: %s",
		mColumnsMissing:  "columns of the mapping are missing: %s; columns found: %s",
		mHeaderElsewhere: "mapping %q says the headers are on row %d, but its columns are probably on row %d; fix header_row (or remove it, and the row is found automatically). Columns of row %[3]d: %s",
		mFileNotFound:    "was not found; check its name and folder",
		mRowPrefix:       "Row %d, column %s (%s)",
		mRowPrefixNoCol:  "Row %d, field %s",
		mValue:           "value %q",
		mRequired:        "is empty; field %s is required — fill it in",
		mNotNumber:       "is not a number; use e.g. 1234.56",
		mNotInteger:      "is not a whole number; use e.g. 1234",
		mNotDate:         "is not a date; use dd/mm/yyyy or dd/mm/yyyy hh:mm",
		mBadDate:         "is an impossible date or time; check day, month and hour",
		mNotCoords:       "is not coordinates; use e.g. -23.5505 or \"-23.5505, -46.6333\"",
		mLatRange:        "latitude outside -90 to 90; check that latitude and longitude are not swapped",
		mLngRange:        "longitude outside -180 to 180",
		mNotPhone:        "is not a phone number; use 8 to 15 digits, e.g. (11) 98765-4321",
		mNotEmail:        "is not an e-mail address; use name@example.com",
		mNotBool:         "is not yes/no; use yes or no",
		mTooLarge:        "is too large a number",
		mPattern:         "is not in the expected format (%s)",
		mOneOf:           "is not an accepted value; use one of: %s",
		mMin:             "is below the minimum %v",
		mMax:             "is above the maximum %v",
		mMinLen:          "is too short (at least %v characters)",
		mMaxLen:          "is too long (at most %v characters)",
		mDuplicate:       "repeats the value of row %d; each row needs a different value",
		mColumnMissing:   "column %q (field %s) is not in the sheet; columns found: %s",
		mHeaderNotFound:  "found no header row with the columns of mapping %q in the first %d rows",
		mStatus:          "status",
		mMessage:         "message",
		mSummarySent:     "%d sent",
		mSummaryRejected: "%d rejected",
		mSummaryOther:    "%d %s",
		mSummarySheet:    "Summary",
		mStatusOK:        "sent",
		mStatusRejected:  "rejected",
		mStatusFailed:    "failed",
		mStatusSkipped:   "skipped",
		mStatusAlready:   "already sent",
		mFile:            "File %s: %s",
		mNoSuchMapping:   "mapping %q does not exist; mappings available: %s",
		mNoMapping:       "no mapping recognises the columns of this sheet; check the header row or create a mapping (fieldbridge mapping init)",
		mNoRows:          "the sheet has no rows; check that it is the right file and sheet",
		mAmbiguous:       "the columns fit mappings %s equally well; rename the file to match one of their patterns or use one folder per mapping",
	},
}

// sheetMessages are the texts of sheet.Error kinds.
var sheetMessages = map[string]map[sheet.ErrorKind]string{
	LangPT: {
		sheet.ErrUnknownFormat:  "não é uma planilha XLSX, XLS, ODS nem CSV; salve como .xlsx ou .csv",
		sheet.ErrLegacyXLS:      "é uma planilha do Excel 5.0/95, que não é lida; abra no Excel e use Salvar como → Pasta de Trabalho do Excel (.xlsx)",
		sheet.ErrODS:            "é um documento OpenDocument que não é uma planilha (texto ou apresentação); envie uma planilha .ods, .xlsx ou .csv",
		sheet.ErrEncrypted:      "está protegida por senha; salve uma cópia sem senha (Arquivo → Informações → Proteger pasta de trabalho)",
		sheet.ErrTruncated:      "está incompleto (talvez ainda estivesse sendo copiado); envie o arquivo de novo",
		sheet.ErrCorrupt:        "está danificado e não pode ser lido; abra e salve de novo no Excel",
		sheet.ErrTooLarge:       "é grande demais; divida a planilha em arquivos menores",
		sheet.ErrZipBomb:        "descompactado fica grande demais; divida a planilha em arquivos menores",
		sheet.ErrTooManyRows:    "tem linhas demais; divida a planilha em arquivos menores",
		sheet.ErrCellTooLong:    "tem uma célula com texto longo demais",
		sheet.ErrTooManyColumns: "tem colunas demais",
		sheet.ErrNoSheet:        "não tem a aba pedida pelo mapeamento",
		sheet.ErrEmptyFile:      "está vazio",
	},
	LangES: {
		sheet.ErrUnknownFormat:  "no es una hoja XLSX, XLS, ODS ni CSV; guárdela como .xlsx o .csv",
		sheet.ErrLegacyXLS:      "es un libro de Excel 5.0/95, que no se lee; ábralo en Excel y use Guardar como → Libro de Excel (.xlsx)",
		sheet.ErrODS:            "es un documento OpenDocument que no es una hoja de cálculo (texto o presentación); envíe una hoja .ods, .xlsx o .csv",
		sheet.ErrEncrypted:      "está protegido con contraseña; guarde una copia sin contraseña",
		sheet.ErrTruncated:      "está incompleto (quizás aún se estaba copiando); envíe el archivo de nuevo",
		sheet.ErrCorrupt:        "está dañado y no se puede leer; ábralo y guárdelo de nuevo en Excel",
		sheet.ErrTooLarge:       "es demasiado grande; divida la hoja en archivos más pequeños",
		sheet.ErrZipBomb:        "descomprimido es demasiado grande; divida la hoja en archivos más pequeños",
		sheet.ErrTooManyRows:    "tiene demasiadas filas; divida la hoja en archivos más pequeños",
		sheet.ErrCellTooLong:    "tiene una celda con un texto demasiado largo",
		sheet.ErrTooManyColumns: "tiene demasiadas columnas",
		sheet.ErrNoSheet:        "no tiene la hoja pedida por el mapeo",
		sheet.ErrEmptyFile:      "está vacío",
	},
	LangEN: {
		sheet.ErrUnknownFormat:  "is not an XLSX, XLS, ODS or CSV sheet; save it as .xlsx or .csv",
		sheet.ErrLegacyXLS:      "is an Excel 5.0/95 workbook, which is not read; open it in Excel and use Save As → Excel Workbook (.xlsx)",
		sheet.ErrODS:            "is an OpenDocument file that is not a spreadsheet (text or presentation); send an .ods, .xlsx or .csv sheet",
		sheet.ErrEncrypted:      "is password-protected; save a copy without a password",
		sheet.ErrTruncated:      "is incomplete (perhaps it was still being copied); send the file again",
		sheet.ErrCorrupt:        "is damaged and cannot be read; open it and save it again in Excel",
		sheet.ErrTooLarge:       "is too large; split the sheet into smaller files",
		sheet.ErrZipBomb:        "decompresses to too large a size; split the sheet into smaller files",
		sheet.ErrTooManyRows:    "has too many rows; split the sheet into smaller files",
		sheet.ErrCellTooLong:    "has a cell with too long a text",
		sheet.ErrTooManyColumns: "has too many columns",
		sheet.ErrNoSheet:        "does not have the sheet the mapping asks for",
		sheet.ErrEmptyFile:      "is empty",
	},
}

func lang(l string) string {
	switch strings.ToLower(l) {
	case "es", "es-419", "es-es", "es-ar", "es-mx", "es-cl", "es-co":
		return LangES
	case "en", "en-us", "en-gb":
		return LangEN
	}
	return LangPT
}

func tr(l string, k msgKey, args ...any) string {
	t, ok := messages[lang(l)][k]
	if !ok {
		t = messages[LangEN][k]
	}
	if len(args) == 0 {
		return t
	}
	return fmt.Sprintf(t, args...)
}

// Explain returns a person-readable message for an error from this
// package or mapping/sheet, in language l (pt-BR, es or en): what is wrong
// with which file and, when known, the row.
func Explain(err error, l string) string {
	var se *sheet.Error
	if errors.As(err, &se) {
		text := sheetMessages[lang(l)][se.Kind]
		if se.Row > 0 {
			text = rowWord(l, se.Row) + ": " + text
		}
		if se.Kind == sheet.ErrNoSheet && se.Sheet != "" {
			var names []string
			for _, n := range se.Sheets {
				names = append(names, strconv.Quote(n))
			}
			text = tr(l, mNoSheetNamed, se.Sheet, strings.Join(names, ", "))
		}
		name := se.Path
		if i := strings.LastIndexAny(name, `/\`); i >= 0 {
			name = name[i+1:]
		}
		return tr(l, mFile, name, text)
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return fe.Message(l)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist) {
		return tr(l, mFile, filepath.Base(pe.Path), tr(l, mFileNotFound))
	}
	return err.Error()
}

func rowWord(l string, row int) string {
	switch lang(l) {
	case LangES:
		return fmt.Sprintf("fila %d", row)
	case LangEN:
		return fmt.Sprintf("row %d", row)
	}
	return fmt.Sprintf("linha %d", row)
}
