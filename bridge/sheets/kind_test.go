package sheets

import (
	"context"

	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
)

func registry() *bridge.Registry {
	r := &bridge.Registry{
		Kinds: map[string]bridge.Kind{KindName: Kind()},
		Conns: map[string]bridge.ConnType{ConnTypeName: ConnType()},
	}
	for _, c := range fileconn.ConnTypes() {
		r.AddConn(c)
	}
	return r
}

func TestConfigDecodes(t *testing.T) {
	t.Setenv("OT_PASSWORD", "pw")
	cfg := `
[connections.ot]
type = "officetrack"
url = "https://acme.officetrack.com/services/webservices.asmx"
user_name = "u"
password = "${OT_PASSWORD}"
timeout = "10s"

[[job]]
name = "tarefas"
kind = "sheet-officetrack"
officetrack = "ot"
mappings = "mappings"
min_age = "2s"
all_or_nothing = true
task_number_from = ["workOrderNumber", "CustomerNumber"]

[[job.inbox]]
path = "inbox"
mapping = "padrao"
`
	c, err := bridge.ParseConfig("/etc/fb/config.toml", []byte(cfg), registry())
	if err != nil {
		t.Fatal(err)
	}
	o := c.Jobs[0].Options.(*Options)
	if !o.AllOrNothing || o.MinAge.Seconds() != 2 || o.Inboxes[0].Mapping != "padrao" || o.Delivery != DeliveryWebService {
		t.Fatalf("%+v", o)
	}
	j, err := newJob(&bridge.Env{Config: c}, c.Jobs[0].Spec, o)
	if err != nil {
		t.Fatal(err)
	}
	if j.opts.Inboxes[0].Path != "/etc/fb/inbox" || j.opts.Mappings != "/etc/fb/mappings" || j.conc != 8 {
		t.Fatalf("%+v conc %d", j.opts, j.conc)
	}
	if got := j.opts.TaskNumberFrom; len(got) != 2 || got[0] != "WorkOrderNumber" || got[1] != "CustomerNumber" {
		t.Fatalf("task_number_from %v (the target's spelling expected)", got)
	}
	if got := j.WatchDirs(); len(got) != 1 || got[0] != "/etc/fb/inbox" {
		t.Fatalf("WatchDirs %v", got)
	}
}

func TestConfigProblems(t *testing.T) {
	cfg := `
[connections.ot]
type = "officetrack"
url = "ftp://x"

[[job]]
name = "tarefas"
kind = "sheet-officetrack"
delivery = "carrier-pigeon"
task_number_from = ["WorkOrder", "TaskNumber", "Location"]

[[job.inbox]]
path = "a"
connection = "b"
`
	_, err := bridge.ParseConfig("", []byte(cfg), registry())
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"user_name", "password", "url", "delivery", "mappings", "inbox[0]",
		`task_number_from[0]: "WorkOrder" is not a field`, "task_number_from[1]", "task_number_from[2]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no problem about %s in:\n%v", want, err)
		}
	}
}

func TestConnTypeConnect(t *testing.T) {
	fake := officetracktest.NewServer(officetracktest.Options{})
	defer fake.Close()
	ct := ConnType()
	o := fake.ClientOptions()
	if err := ct.Check(&o); err != nil {
		t.Fatal(err)
	}
	if err := ct.Connect(context.Background(), &o); err != nil {
		t.Fatalf("good account: %v", err)
	}
	o.Password = "wrong"
	err := ct.Connect(context.Background(), &o)
	if err == nil || !strings.Contains(err.Error(), "InvalidUserNameOrPasswordOrIPAddress") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad password: %v", err)
	}
}
