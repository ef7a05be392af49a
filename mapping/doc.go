// Package mapping turns the spreadsheets people send (XLSX, ODS, XLS, CSV) into
// validated records for a target — an OfficeTrack task or point of
// interest — using saved column mappings, and writes the result report
// that tells the sheet's owner what happened to every row.
//
// # Saved mappings
//
// One TOML file per mapping in a folder (LoadDir). Unknown keys, unknown
// target fields, missing required fields, bad patterns, time zones and
// date formats are all reported at load time, each with its file and line:
//
//	name = "tarefas"                 # default: the file name
//	target = "officetrack-task"      # or "officetrack-poi"; see Targets
//	files = ["tarefas*.xlsx"]        # file-name globs that select this mapping
//	sheet = "Tarefas"                # a name, or a position: sheet = 2 (workbooks only;
//	                                 # a CSV of the same data is read too)
//	header_row = 3                   # default: found among the first 20 rows
//	timezone = "America/Sao_Paulo"   # the zone of the sheet's dates
//	date_format = "yyyyMMddHHmm"     # how dates are sent (the default)
//	month_first = false              # read typed dates as mm/dd/yyyy
//
//	[fields.TaskNumber]
//	column = "Nº OS"                 # matched ignoring case, accents, spaces, punctuation:
//	aliases = ["OS", "Número da OS"] # "Nº OS" = "N° da OS" = "numero os"
//
//	[fields."Location.Address"]
//	template = "{Rua}, {Número} - {Bairro}"   # separators of empty parts are dropped
//
//	[fields.Status]
//	value = "NewTask"                # the same for every row
//
//	[fields.TaskTypeCode]
//	column = "Tipo de Serviço"
//	transforms = ["trim", "upper"]   # trim, upper, lower, digits, collapse, noaccents
//	map = { "INSTALAÇÃO" = "INST" }  # keys match ignoring case and accents
//	default = "REP"                  # when the cell is empty
//	one_of = ["INST", "REP"]         # also: pattern = "...", min/max, required, unique
//
//	[fields.Location]                # latitude and longitude from one "lat, lng" cell,
//	column = "Coordenadas"           # or columns = ["Latitude", "Longitude"]
//
// Types come from the target's fields (type = "..." may narrow them):
// text, integer, decimal (comma or point), date and datetime (dd/mm/yyyy,
// dd/mm/yyyy hh:mm, ISO 8601, Excel serial numbers and Excel date cells,
// in the mapping's time zone), lat, lng, latlng, phone, email and bool.
// An empty optional cell leaves the field unset (Value.Set false), so an
// update does not blank it in OfficeTrack.
//
// # Reading a sheet
//
//	set, err := mapping.LoadDir(dir)                  // *LoadError lists every problem
//	m, err := set.Choose(path, boundName, opts)       // folder binding, glob, or headers
//	r, err := mapping.Open(path, m, opts)             // or NewReader(sheetFile, m, opts)
//	defer r.Close()
//	for r.Next() {
//		if probs := r.Problems(); len(probs) > 0 {
//			msg := mapping.RejectMessage(probs, lang) // row, column letter, header, value, what to do
//			continue
//		}
//		rec := r.Record()                        // rec.Fields["TaskNumber"].Text, .Set
//	}
//	err = r.Err()                                     // *sheet.Error: the file broke mid-way
//
// Errors from Open and Choose are *sheet.Error (the file cannot be read:
// Excel 5.0/95, password, truncated, corrupt, too big) or *FileError
// (it does not fit the mapping); Explain(err, lang) gives the message for
// a person in pt-BR (default), es or en.
//
// The reader streams: the sheet's XML is decompressed and scanned in two
// goroutines ahead of the caller, rows are never all in memory, and each
// unique field keeps one 12-byte entry per row.
//
// # Result report
//
// WriteReportFile (atomic) or WriteReport writes the original rows — read
// again from the source, so the sheet is not held in memory — plus status
// and message columns and a closing summary line ("812 enviadas, 3
// rejeitadas"): XLSX for a workbook source — XLSX, ODS or XLS (rejected rows highlighted, date
// formats kept, same row numbers as the original), CSV for a CSV source
// (same encoding and delimiter). Merged cells are not re-merged.
//
// # Tools
//
// Check prints how the first rows map and every problem without sending
// anything; Draft writes a draft mapping from a sheet's headers and values,
// each field with its evidence and confidence (Suggest returns the same as
// data). They back `fieldbridge mapping check` and `fieldbridge mapping init`.
//
// # Synonyms
//
// Draft matches headers against synonym tables, one TOML file per language
// (mapping/synonyms/pt-BR.toml, es.toml, en.toml, embedded; see
// DefaultSynonyms). LoadSynonyms adds a customer's files of the same form
// from a mappings folder's synonyms/ subfolder:
//
//	language = "pt-BR"
//	[abbreviations]
//	prot = "protocolo"                # a header word and what it stands for
//	[officetrack-task]
//	Notes = ["recado da central"]     # headers that name the field
//	[officetrack-poi]
//	name = ["nome do armário"]
package mapping
