package main

import (
	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/boxsync"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
	"github.com/fieldbridge/fieldbridge/bridge/results"
	"github.com/fieldbridge/fieldbridge/bridge/sheets"
	"github.com/fieldbridge/fieldbridge/bridge/viability"
)

// registry lists every job kind and connection type this binary knows.
// Each flow and each transport/connector adds ONE line here:
//
//	r.AddKind(boxsync.Kind())
//	r.AddConn(ftp.ConnType())
func registry() *bridge.Registry {
	r := &bridge.Registry{Kinds: map[string]bridge.Kind{}, Conns: map[string]bridge.ConnType{}}

	// Job kinds (bridge/<flow>).
	r.AddKind(boxsync.Kind())
	r.AddKind(sheets.Kind())
	r.AddKind(results.Kind())
	r.AddKind(viability.Kind())

	// Connection types (transports/<backend>, connectors/<system>).
	for _, c := range fileconn.ConnTypes() { // local, ftp, ftps, sftp
		r.AddConn(c)
	}
	r.AddConn(boxsync.OZmapConnType()) // connectors/ozmap (also used by fortics-viability)
	r.AddConn(boxsync.SytexConnType())
	r.AddConn(sheets.ConnType())       // "officetrack" (web-service account)
	r.AddConn(viability.SMSConnType()) // connectors/sms (FindME's links)

	for _, k := range extraKinds {
		r.AddKind(k)
	}
	return r
}

// connWarners say, from a connection's type and decoded options, which of
// its settings work but turn a safety check off (an unverified TLS
// certificate, an unchecked host key, a password in clear text): each
// package with connection types that have such options adds ONE line here.
// A warner returns nil for types it does not know. `check` prints the
// warnings, `run` and `once` log them at start (connwarn.go).
var connWarners = []func(typ string, opts any) []string{
	fileconn.Warnings,     // ftp, ftps: tls = "none", insecure_skip_verify; sftp: insecure_ignore_host_key
	viability.SMSWarnings, // sms: insecure_skip_verify, http:// base_url
}

// extraKinds are added by files built with test tags (testkinds.go).
var extraKinds []bridge.Kind
