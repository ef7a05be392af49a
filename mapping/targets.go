package mapping

import (
	"fmt"
	"sort"
	"strings"
)

// Type is how a field's text is parsed, checked and formatted for the target.
type Type string

// Field types.
const (
	Text     Type = "text"     // any text
	Integer  Type = "integer"  // whole number: "1.234", "1234", 1234 (number cell)
	Decimal  Type = "decimal"  // "1.234,56", "1234.56", "-23,5505"
	Date     Type = "date"     // dd/mm/yyyy, ISO, Excel serial or date cell; sent at 00:00
	DateTime Type = "datetime" // dd/mm/yyyy hh:mm, ISO, Excel serial or date cell
	Lat      Type = "lat"      // latitude: decimal in [-90, 90]
	Lng      Type = "lng"      // longitude: decimal in [-180, 180]
	LatLng   Type = "latlng"   // one cell "lat, lng"; fills the two fields named in Field.Pair
	Phone    Type = "phone"    // digits (and a leading +), 8 to 15 digits
	Email    Type = "email"    // name@domain
	Bool     Type = "bool"     // sim/não, yes/no, true/false, 1/0, x
)

var knownTypes = map[Type]bool{Text: true, Integer: true, Decimal: true, Date: true, DateTime: true,
	Lat: true, Lng: true, LatLng: true, Phone: true, Email: true, Bool: true}

// Field is one field of a target, declared in code.
type Field struct {
	Name     string
	Type     Type
	Required bool     // a mapping must fill it and every row must have a value
	Unique   bool     // values must not repeat within one file (the target's key)
	OneOf    []string // allowed values (matched ignoring case, sent as written here)
	MaxLen   int      // longest text accepted (0: no limit)
	// Pair names the two fields (latitude, longitude) a LatLng pseudo-field fills.
	Pair [2]string
	// Hints are extra header words that suggest this field (for Draft).
	Hints []string
}

// Target is what a mapping produces records for.
type Target struct {
	Name   string
	Doc    string
	Fields []Field
	index  map[string]int
}

// Field returns the target's field by name (exact, then ignoring case).
func (t *Target) Field(name string) (Field, bool) {
	if i, ok := t.index[name]; ok {
		return t.Fields[i], true
	}
	for _, f := range t.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

func newTarget(name, doc string, fields []Field) *Target {
	t := &Target{Name: name, Doc: doc, Fields: fields, index: map[string]int{}}
	for i, f := range fields {
		if _, dup := t.index[f.Name]; dup {
			panic("mapping: duplicate field " + f.Name)
		}
		t.index[f.Name] = i
	}
	return t
}

// TaskStatuses are the statuses OfficeTrack accepts for a task.
var taskStatuses = []string{"NewTask", "Acknowledged", "InProgress", "Suspended", "Closed", "Canceled",
	"NotDone", "EnRoute", "Arrived", "Declined", "Draft", "DontChange"}

func dataFields(prefix string, n int) []Field {
	out := make([]Field, n)
	for i := range out {
		out[i] = Field{Name: fmt.Sprintf("%s%d", prefix, i+1), Type: Text}
	}
	return out
}

// Target names.
const (
	TargetTask = "officetrack-task"
	TargetPOI  = "officetrack-poi"
)

// Targets returns the targets mappings may name, fresh on every call.
func Targets() map[string]*Target {
	task := []Field{
		{Name: "TaskNumber", Type: Integer, Unique: true, Hints: []string{"numero os", "os", "ordem de servico", "numero ordem servico", "numero tarefa", "tarefa", "task number"}},
		{Name: "WorkOrderNumber", Type: Text, Hints: []string{"ordem", "work order", "pedido"}},
		{Name: "CustomerNumber", Type: Text, Hints: []string{"codigo cliente", "cod cliente", "customer number", "contrato"}},
		{Name: "DistributionAreaNumber", Type: Text, Hints: []string{"area", "regiao"}},
		{Name: "EmployeeNumber", Type: Text, Hints: []string{"tecnico", "funcionario", "employee"}},
		{Name: "DueDateTime", Type: DateTime, Hints: []string{"data", "vencimento", "agendamento", "prazo", "due"}},
		{Name: "Duration", Type: Integer, Hints: []string{"duracao", "tempo", "duration"}},
		{Name: "TaskTypeCode", Type: Text, Hints: []string{"tipo", "servico", "type"}},
		{Name: "Notes", Type: Text, Hints: []string{"observacao", "observacoes", "obs", "notas", "notes"}},
		{Name: "Description", Type: Text, Hints: []string{"descricao", "description"}},
		{Name: "Status", Type: Text, OneOf: taskStatuses, Hints: []string{"status", "situacao"}},
		{Name: "Phone1", Type: Phone, Hints: []string{"telefone", "celular", "fone", "phone"}},
		{Name: "Phone2", Type: Phone, Hints: []string{"telefone 2", "celular 2", "fone 2"}},
		{Name: "ContractorCode", Type: Text, Hints: []string{"empreiteira", "terceirizada", "contractor"}},
		{Name: "ContactName", Type: Text, Hints: []string{"contato", "contact"}},
		{Name: "CustomerName", Type: Text, Hints: []string{"cliente", "nome cliente", "nome", "customer"}},
		{Name: "Categories", Type: Text, Hints: []string{"categoria", "categorias"}},
		{Name: "Email", Type: Email, Hints: []string{"email", "e mail", "correio"}},
		{Name: "Location.X", Type: Lng, Hints: []string{"longitude", "lng", "lon"}},
		{Name: "Location.Y", Type: Lat, Hints: []string{"latitude", "lat"}},
		{Name: "Location", Type: LatLng, Pair: [2]string{"Location.Y", "Location.X"}, Hints: []string{"coordenadas", "lat long", "latlng", "coordinates", "localizacao"}},
		{Name: "Location.Address", Type: Text, Hints: []string{"endereco completo"}},
		{Name: "GeocodeAddress.State", Type: Text, Hints: []string{"uf", "estado"}},
		{Name: "GeocodeAddress.City", Type: Text, Hints: []string{"cidade", "municipio"}},
		{Name: "GeocodeAddress.Street", Type: Text, Hints: []string{"rua", "logradouro", "endereco"}},
		{Name: "GeocodeAddress.HouseNumber", Type: Text, Hints: []string{"numero", "numero casa"}},
		{Name: "GeocodeAddress.Zip", Type: Text, Hints: []string{"cep", "zip"}},
		{Name: "GeocodeAddress.UseIfPartiallyResolved", Type: Bool},
		{Name: "ExternalCreationDate", Type: DateTime, Hints: []string{"data criacao", "abertura", "criado em"}},
		{Name: "Options", Type: Text},
	}
	task = append(task, dataFields("Data", 30)...)
	poi := []Field{
		{Name: "name", Type: Text, Required: true, Hints: []string{"nome", "name", "ponto"}},
		{Name: "street", Type: Text, Hints: []string{"rua", "logradouro", "endereco"}},
		{Name: "houseNum", Type: Text, Hints: []string{"numero", "nro", "n"}},
		{Name: "city", Type: Text, Hints: []string{"cidade", "municipio"}},
		{Name: "state", Type: Text, Hints: []string{"uf", "estado"}},
		{Name: "zip", Type: Text, Hints: []string{"cep", "zip"}},
		{Name: "phone1", Type: Phone, Hints: []string{"telefone", "celular", "fone"}},
		{Name: "phone2", Type: Phone, Hints: []string{"telefone 2", "celular 2"}},
		{Name: "fax", Type: Phone, Hints: []string{"fax"}},
		{Name: "type", Type: Text, OneOf: []string{"POI", "Customer", "Polygon", "DistributionCenter", "DistributionArea"}, Hints: []string{"tipo"}},
		{Name: "customerNumber", Type: Text, Required: true, Unique: true, Hints: []string{"codigo", "codigo cliente", "cod cliente", "id"}},
		{Name: "parentPoi", Type: Text, Hints: []string{"pai", "parent"}},
		{Name: "categories", Type: Text, Hints: []string{"categoria", "categorias"}},
		{Name: "pointData", Type: Text},
		{Name: "email", Type: Email, Hints: []string{"email", "e mail"}},
		{Name: "isParent", Type: Bool},
	}
	poi = append(poi, dataFields("data", 30)...)
	return map[string]*Target{
		TargetTask: newTarget(TargetTask, "OfficeTrack task (CreateOrUpdateTask, AutoSelect by TaskNumber)", task),
		TargetPOI:  newTarget(TargetPOI, "OfficeTrack point of interest (InsertOrUpdatePointOfInterest, keyed by customerNumber)", poi),
	}
}

// TargetNames lists the targets' names, sorted.
func TargetNames() []string {
	var out []string
	for n := range Targets() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
