package officetrack

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// Task is an OfficeTrack task (the service's DynamicTask). Every field is
// optional: a nil pointer is not sent, and its `<Field>HasValue` flag goes
// out as false, so that an update leaves the field as it is in OfficeTrack.
// A field that is set (even to "") is sent with its flag true.
//
// Fields can be set by name with Set, which is how a mapped sheet row (field
// name → text) becomes a Task; TaskFields lists the names in the order of the
// service's schema.
type Task struct {
	TaskNumber             *int64
	WorkOrderNumber        *string
	CustomerNumber         *string
	DistributionAreaNumber *string
	EmployeeNumber         *string
	// DueDateTime is text in the account's date format (see the contract:
	// "yyyyMMddHHmm" is what is seen in use).
	DueDateTime *string
	// Duration in minutes.
	Duration       *int
	TaskTypeCode   *string
	Notes          *string
	Description    *string
	Status         *string
	Phone1         *string
	Phone2         *string
	ContractorCode *string
	ContactName    *string
	CustomerName   *string
	Categories     *string
	Email          *string
	Location       *Location
	GeocodeAddress *GeocodeAddress
	// Data holds the custom fields Data1..Data30 (Data[0] is Data1).
	Data                 [30]*string
	ExternalCreationDate *string
	Options              *string
}

// Location is a task's position: X is the longitude, Y the latitude.
type Location struct {
	X       *float64
	Y       *float64
	Address *string
}

// GeocodeAddress is an address for OfficeTrack to geocode.
type GeocodeAddress struct {
	State                  *string
	City                   *string
	Street                 *string
	HouseNumber            *string
	Zip                    *string
	UseIfPartiallyResolved *bool
}

// FieldType is the value type of a task field.
type FieldType int

// Field types.
const (
	TypeString FieldType = iota
	TypeLong             // a 64-bit integer (TaskNumber)
	TypeInt              // a 32-bit integer (Duration)
	TypeFloat            // a decimal (Location.X / .Y)
	TypeBool             // true/false (GeocodeAddress.UseIfPartiallyResolved)
)

// Field describes one settable task field.
type Field struct {
	// Name as accepted by Task.Set: "TaskNumber", "Location.X", "Data7".
	Name string
	Type FieldType
}

// TaskStatuses are the values OfficeTrack accepts for Status.
var taskStatuses = []string{"NewTask", "Acknowledged", "InProgress", "Suspended", "Closed",
	"Canceled", "NotDone", "EnRoute", "Arrived", "Declined", "Draft", "DontChange"}

// TaskStatuses returns the values accepted for a task's Status.
func TaskStatuses() []string { return append([]string(nil), taskStatuses...) }

// taskField binds one top-level element of DynamicTask to the Task struct.
type taskField struct {
	name string
	typ  FieldType
	ptr  func(t *Task) any // **string, **int64, ... (address of the pointer field)
}

func strF(name string, f func(t *Task) **string) taskField {
	return taskField{name, TypeString, func(t *Task) any { return f(t) }}
}

// topFields lists DynamicTask's scalar elements in schema order, with
// Location and GeocodeAddress (nested) placed by marker entries.
var topFields = func() []taskField {
	fs := []taskField{
		{"TaskNumber", TypeLong, func(t *Task) any { return &t.TaskNumber }},
		strF("WorkOrderNumber", func(t *Task) **string { return &t.WorkOrderNumber }),
		strF("CustomerNumber", func(t *Task) **string { return &t.CustomerNumber }),
		strF("DistributionAreaNumber", func(t *Task) **string { return &t.DistributionAreaNumber }),
		strF("EmployeeNumber", func(t *Task) **string { return &t.EmployeeNumber }),
		strF("DueDateTime", func(t *Task) **string { return &t.DueDateTime }),
		{"Duration", TypeInt, func(t *Task) any { return &t.Duration }},
		strF("TaskTypeCode", func(t *Task) **string { return &t.TaskTypeCode }),
		strF("Notes", func(t *Task) **string { return &t.Notes }),
		strF("Description", func(t *Task) **string { return &t.Description }),
		strF("Status", func(t *Task) **string { return &t.Status }),
		strF("Phone1", func(t *Task) **string { return &t.Phone1 }),
		strF("Phone2", func(t *Task) **string { return &t.Phone2 }),
		strF("ContractorCode", func(t *Task) **string { return &t.ContractorCode }),
		strF("ContactName", func(t *Task) **string { return &t.ContactName }),
		strF("CustomerName", func(t *Task) **string { return &t.CustomerName }),
		strF("Categories", func(t *Task) **string { return &t.Categories }),
		strF("Email", func(t *Task) **string { return &t.Email }),
		{name: "Location"},
		{name: "GeocodeAddress"},
	}
	for i := range 30 {
		fs = append(fs, strF("Data"+strconv.Itoa(i+1), func(t *Task) **string { return &t.Data[i] }))
	}
	fs = append(fs,
		strF("ExternalCreationDate", func(t *Task) **string { return &t.ExternalCreationDate }),
		strF("Options", func(t *Task) **string { return &t.Options }),
	)
	return fs
}()

var locationFields = []Field{{"X", TypeFloat}, {"Y", TypeFloat}, {"Address", TypeString}}

var geocodeFields = []Field{{"State", TypeString}, {"City", TypeString}, {"Street", TypeString},
	{"HouseNumber", TypeString}, {"Zip", TypeString}, {"UseIfPartiallyResolved", TypeBool}}

// TaskFields lists every name Task.Set accepts, in the schema's order.
// Nested fields are named "Location.X", "GeocodeAddress.City", ...
func TaskFields() []Field {
	var out []Field
	for _, f := range topFields {
		switch f.name {
		case "Location":
			for _, n := range locationFields {
				out = append(out, Field{"Location." + n.Name, n.Type})
			}
		case "GeocodeAddress":
			for _, n := range geocodeFields {
				out = append(out, Field{"GeocodeAddress." + n.Name, n.Type})
			}
		default:
			out = append(out, Field{f.name, f.typ})
		}
	}
	return out
}

// TopLevelElements lists DynamicTask's elements in schema order (each is
// followed on the wire by its `<Name>HasValue` flag).
func TopLevelElements() []string {
	out := make([]string, len(topFields))
	for i, f := range topFields {
		out[i] = f.name
	}
	return out
}

// Set parses value for the field name (see TaskFields) and sets it.
// Numbers accept a decimal comma; booleans accept true/false/1/0/sim/não/yes/no.
func (t *Task) Set(name, value string) error {
	if rest, ok := strings.CutPrefix(name, "Location."); ok {
		if t.Location == nil {
			t.Location = &Location{}
		}
		switch rest {
		case "X":
			return setFloat(&t.Location.X, name, value)
		case "Y":
			return setFloat(&t.Location.Y, name, value)
		case "Address":
			t.Location.Address = &value
			return nil
		}
		return fmt.Errorf("officetrack: unknown task field %q", name)
	}
	if rest, ok := strings.CutPrefix(name, "GeocodeAddress."); ok {
		if t.GeocodeAddress == nil {
			t.GeocodeAddress = &GeocodeAddress{}
		}
		g := t.GeocodeAddress
		switch rest {
		case "State":
			g.State = &value
		case "City":
			g.City = &value
		case "Street":
			g.Street = &value
		case "HouseNumber":
			g.HouseNumber = &value
		case "Zip":
			g.Zip = &value
		case "UseIfPartiallyResolved":
			b, err := parseBool(value)
			if err != nil {
				return fmt.Errorf("officetrack: %s: %w", name, err)
			}
			g.UseIfPartiallyResolved = &b
		default:
			return fmt.Errorf("officetrack: unknown task field %q", name)
		}
		return nil
	}
	for _, f := range topFields {
		if f.name != name || f.ptr == nil {
			continue
		}
		switch p := f.ptr(t).(type) {
		case **string:
			*p = &value
		case **int64:
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil {
				return fmt.Errorf("officetrack: %s must be a whole number, got %q", name, value)
			}
			*p = &n
		case **int:
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 32)
			if err != nil {
				return fmt.Errorf("officetrack: %s must be a whole number, got %q", name, value)
			}
			v := int(n)
			*p = &v
		}
		return nil
	}
	return fmt.Errorf("officetrack: unknown task field %q", name)
}

// Get returns the text of the field name and whether it is set.
func (t *Task) Get(name string) (string, bool) {
	if rest, ok := strings.CutPrefix(name, "Location."); ok {
		if t.Location == nil {
			return "", false
		}
		switch rest {
		case "X":
			return fmtFloat(t.Location.X)
		case "Y":
			return fmtFloat(t.Location.Y)
		case "Address":
			return deref(t.Location.Address)
		}
		return "", false
	}
	if rest, ok := strings.CutPrefix(name, "GeocodeAddress."); ok {
		g := t.GeocodeAddress
		if g == nil {
			return "", false
		}
		switch rest {
		case "State":
			return deref(g.State)
		case "City":
			return deref(g.City)
		case "Street":
			return deref(g.Street)
		case "HouseNumber":
			return deref(g.HouseNumber)
		case "Zip":
			return deref(g.Zip)
		case "UseIfPartiallyResolved":
			if g.UseIfPartiallyResolved == nil {
				return "", false
			}
			return strconv.FormatBool(*g.UseIfPartiallyResolved), true
		}
		return "", false
	}
	for _, f := range topFields {
		if f.name != name || f.ptr == nil {
			continue
		}
		switch p := f.ptr(t).(type) {
		case **string:
			return deref(*p)
		case **int64:
			if *p == nil {
				return "", false
			}
			return strconv.FormatInt(**p, 10), true
		case **int:
			if *p == nil {
				return "", false
			}
			return strconv.Itoa(**p), true
		}
	}
	return "", false
}

func deref(p *string) (string, bool) {
	if p == nil {
		return "", false
	}
	return *p, true
}

func fmtFloat(p *float64) (string, bool) {
	if p == nil {
		return "", false
	}
	return strconv.FormatFloat(*p, 'f', -1, 64), true
}

func setFloat(dst **float64, name, value string) error {
	v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(value), ",", "."), 64)
	if err != nil {
		return fmt.Errorf("officetrack: %s must be a number, got %q", name, value)
	}
	*dst = &v
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "sim", "si", "sí", "y", "s":
		return true, nil
	case "false", "0", "no", "não", "nao", "n", "":
		return false, nil
	}
	return false, fmt.Errorf("not true/false: %q", s)
}

// MarshalXML writes the task as a DynamicTask: the fields in schema order,
// each set field followed by `<Field>HasValue>true`, each unset one by just
// `<Field>HasValue>false`.
func (t Task) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, f := range topFields {
		var set bool
		var err error
		switch f.name {
		case "Location":
			set = t.Location != nil
			if set {
				err = encodeNested(e, "Location", locationFields, t.Get, "Location.")
			}
		case "GeocodeAddress":
			set = t.GeocodeAddress != nil
			if set {
				err = encodeNested(e, "GeocodeAddress", geocodeFields, t.Get, "GeocodeAddress.")
			}
		default:
			var v string
			v, set = t.Get(f.name)
			if set {
				err = e.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: f.name}})
			}
		}
		if err != nil {
			return err
		}
		if err := e.EncodeElement(set, xml.StartElement{Name: xml.Name{Local: f.name + "HasValue"}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// appendXML writes the task's elements (the content of a DynamicTask
// element) exactly as MarshalXML does, without reflection: the client's
// fast path for CreateOrUpdateTask.
func (t *Task) appendXML(b *bytes.Buffer) {
	el := func(name, v string) {
		b.WriteByte('<')
		b.WriteString(name)
		b.WriteByte('>')
		xml.EscapeText(b, []byte(v))
		b.WriteString("</")
		b.WriteString(name)
		b.WriteByte('>')
	}
	flag := func(name string, set bool) {
		b.WriteByte('<')
		b.WriteString(name)
		b.WriteString("HasValue>")
		if set {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
		b.WriteString("</")
		b.WriteString(name)
		b.WriteString("HasValue>")
	}
	nested := func(name string, fields []Field, prefix string) {
		b.WriteString("<" + name + ">")
		for _, f := range fields {
			if v, ok := t.Get(prefix + f.Name); ok {
				el(f.Name, v)
			}
		}
		b.WriteString("</" + name + ">")
	}
	for _, f := range topFields {
		var set bool
		switch f.name {
		case "Location":
			if set = t.Location != nil; set {
				nested("Location", locationFields, "Location.")
			}
		case "GeocodeAddress":
			if set = t.GeocodeAddress != nil; set {
				nested("GeocodeAddress", geocodeFields, "GeocodeAddress.")
			}
		default:
			var v string
			if v, set = t.Get(f.name); set {
				el(f.name, v)
			}
		}
		flag(f.name, set)
	}
}

func encodeNested(e *xml.Encoder, name string, fields []Field, get func(string) (string, bool), prefix string) error {
	st := xml.StartElement{Name: xml.Name{Local: name}}
	if err := e.EncodeToken(st); err != nil {
		return err
	}
	for _, f := range fields {
		if v, ok := get(prefix + f.Name); ok {
			if err := e.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: f.Name}}); err != nil {
				return err
			}
		}
	}
	return e.EncodeToken(st.End())
}

// Element is one XML element, kept generic: the fake service and
// GetTaskDetails answers are decoded into it.
type Element struct {
	XMLName  xml.Name
	Text     string    `xml:",chardata"`
	Children []Element `xml:",any"`
}

// Child returns the first child with the local name, or nil.
func (el *Element) Child(name string) *Element {
	for i := range el.Children {
		if el.Children[i].XMLName.Local == name {
			return &el.Children[i]
		}
	}
	return nil
}

// DecodedTask is a DynamicTask read from XML, with the flags as sent.
type DecodedTask struct {
	Task Task
	// HasValue holds every `<Field>HasValue` flag seen, by field name.
	HasValue map[string]bool
	// Present lists the fields whose value element was present.
	Present map[string]bool
	// Unknown lists elements that are not part of DynamicTask.
	Unknown []string
}

// DecodeTask reads a DynamicTask element. It fails only on values that do
// not parse; HasValue mismatches are left to the caller (see DecodedTask).
// A value is applied to Task when its element is present, whatever its flag.
func DecodeTask(el *Element) (DecodedTask, error) {
	d := DecodedTask{HasValue: map[string]bool{}, Present: map[string]bool{}}
	known := map[string]bool{}
	for _, f := range topFields {
		known[f.name] = true
	}
	for _, c := range el.Children {
		name := c.XMLName.Local
		if base, ok := strings.CutSuffix(name, "HasValue"); ok && known[base] {
			b, err := parseBool(c.Text)
			if err != nil {
				return d, fmt.Errorf("%s: %w", name, err)
			}
			d.HasValue[base] = b
			continue
		}
		if !known[name] {
			d.Unknown = append(d.Unknown, name)
			continue
		}
		d.Present[name] = true
		switch name {
		case "Location":
			d.Task.Location = &Location{}
			for _, n := range c.Children {
				if err := d.Task.Set("Location."+n.XMLName.Local, n.Text); err != nil {
					return d, err
				}
			}
		case "GeocodeAddress":
			d.Task.GeocodeAddress = &GeocodeAddress{}
			for _, n := range c.Children {
				if err := d.Task.Set("GeocodeAddress."+n.XMLName.Local, n.Text); err != nil {
					return d, err
				}
			}
		default:
			if err := d.Task.Set(name, c.Text); err != nil {
				return d, err
			}
		}
	}
	return d, nil
}

// POI is a point of interest for InsertOrUpdatePointOfInterest. Its key in
// OfficeTrack is CustomerNumber. Empty fields are sent empty.
type POI struct {
	Name           string
	Street         string
	HouseNum       string
	City           string
	State          string
	Zip            string
	Phone1         string
	Phone2         string
	Fax            string
	Type           string // POI | Customer | Polygon | DistributionCenter | DistributionArea
	CustomerNumber string
	ParentPOI      string
	Categories     string
	PointData      string
	Email          string
	Data           [30]string
	IsParent       bool
}

// POITypes are the values accepted for POI.Type.
func POITypes() []string {
	return []string{"POI", "Customer", "Polygon", "DistributionCenter", "DistributionArea"}
}

// poiParams lists InsertOrUpdatePointOfInterest's parameters after
// operation, in order, with their POI field.
var poiParams = func() []struct {
	name string
	get  func(p *POI) *string
} {
	ps := []struct {
		name string
		get  func(p *POI) *string
	}{
		{"name", func(p *POI) *string { return &p.Name }},
		{"street", func(p *POI) *string { return &p.Street }},
		{"houseNum", func(p *POI) *string { return &p.HouseNum }},
		{"city", func(p *POI) *string { return &p.City }},
		{"state", func(p *POI) *string { return &p.State }},
		{"zip", func(p *POI) *string { return &p.Zip }},
		{"phone1", func(p *POI) *string { return &p.Phone1 }},
		{"phone2", func(p *POI) *string { return &p.Phone2 }},
		{"fax", func(p *POI) *string { return &p.Fax }},
		{"type", func(p *POI) *string { return &p.Type }},
		{"customerNumber", func(p *POI) *string { return &p.CustomerNumber }},
		{"parentPoi", func(p *POI) *string { return &p.ParentPOI }},
		{"categories", func(p *POI) *string { return &p.Categories }},
		{"pointData", func(p *POI) *string { return &p.PointData }},
		{"email", func(p *POI) *string { return &p.Email }},
	}
	for i := range 30 {
		ps = append(ps, struct {
			name string
			get  func(p *POI) *string
		}{"data" + strconv.Itoa(i+1), func(p *POI) *string { return &p.Data[i] }})
	}
	return ps
}()

// POIFields lists the names POI.Set accepts: the operation's parameter
// names ("name", "customerNumber", "data1", ..., "isParent").
func POIFields() []string {
	out := make([]string, 0, len(poiParams)+1)
	for _, p := range poiParams {
		out = append(out, p.name)
	}
	return append(out, "isParent")
}

// Set sets the POI field name (a parameter name, see POIFields; matched
// ignoring case).
func (p *POI) Set(name, value string) error {
	if strings.EqualFold(name, "isParent") {
		b, err := parseBool(value)
		if err != nil {
			return fmt.Errorf("officetrack: isParent: %w", err)
		}
		p.IsParent = b
		return nil
	}
	for _, pp := range poiParams {
		if strings.EqualFold(pp.name, name) {
			*pp.get(p) = value
			return nil
		}
	}
	return fmt.Errorf("officetrack: unknown point-of-interest field %q", name)
}

// Get returns the POI field name as text.
func (p *POI) Get(name string) (string, bool) {
	if strings.EqualFold(name, "isParent") {
		return strconv.FormatBool(p.IsParent), true
	}
	for _, pp := range poiParams {
		if strings.EqualFold(pp.name, name) {
			return *pp.get(p), true
		}
	}
	return "", false
}
