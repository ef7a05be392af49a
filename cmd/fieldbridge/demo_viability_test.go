package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/viability"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
)

// viabilityRegistry is the binary's registry plus what the viability flow
// needs, in case the binary's registry does not list it (yet).
func viabilityRegistry() *bridge.Registry {
	r := registry()
	if _, ok := r.Kinds[viability.KindName]; !ok {
		r.AddKind(viability.Kind())
	}
	if _, ok := r.Conns["ozmap"]; !ok {
		r.AddConn(bridge.ConnType{Name: "ozmap", NewOptions: func() any { o := ozmap.DefaultOptions(); return &o }})
	}
	return r
}

func TestDemoViability(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out, reg: viabilityRegistry}
	if code := runDemo(context.Background(), a, []demoStep{demoViability}, false, false, ""); code != exitOK {
		t.Fatalf("demo = %d\n%s", code, out.String())
	}
	for _, want := range []string{
		`200 {"status":"found","viable":true,"message":"Encontramos viabilidade no seu endereço.","box":"CTO 22-05"`,
		`200 {"status":"no_viability"`, `200 {"status":"not_found"`, `400 {"status":"invalid_request"`,
		`401 {"status":"unauthorized"`, `503 {"status":"unavailable"`,
		"9 questions (found 3, invalid_request 1, no_viability 1, not_found 2, unauthorized 1, unavailable 1)",
		"curl 'http://127.0.0.1:8080/fortics/viability?token=",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out.String())
	}
}
