package viability

import (
	"context"
	"fmt"
	"strings"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/findme"
	"github.com/fieldbridge/fieldbridge/connectors/sms"
)

// smsSender builds the SMS client of the named connection (type "sms").
// It does no I/O.
func smsSender(env *bridge.Env, name string) (findme.Sender, error) {
	if env == nil || env.Config == nil {
		return nil, fmt.Errorf("no connection named %q", name)
	}
	typ, opts, err := env.Conn(name)
	if err != nil {
		return nil, err
	}
	o, ok := opts.(*sms.Options)
	if typ != "sms" || !ok {
		return nil, fmt.Errorf("connection %q is of type %q, not \"sms\"", name, typ)
	}
	c, err := sms.New(*o, env.Log)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", name, err)
	}
	return c, nil
}

// SMSConnType is the "sms" connection type (FindME's links): options are
// sms.Options; `check -connect` asks the gateway about the account without
// sending a message.
func SMSConnType() bridge.ConnType {
	return bridge.ConnType{
		Name:       "sms",
		NewOptions: func() any { o := sms.DefaultOptions(); return &o },
		Check:      func(opts any) error { return opts.(*sms.Options).Check() },
		Connect: func(ctx context.Context, opts any) error {
			c, err := sms.New(*opts.(*sms.Options), nil)
			if err != nil {
				return err
			}
			return c.Check(ctx)
		},
	}
}

// SMSWarnings says which settings of an "sms" connection turn a safety
// check off (for `check` and the daemon's start); nil for other types.
func SMSWarnings(typ string, opts any) []string {
	o, ok := opts.(*sms.Options)
	if typ != "sms" || !ok {
		return nil
	}
	var out []string
	if o.InsecureSkipVerify {
		out = append(out, "insecure_skip_verify = true — the gateway's TLS certificate is not verified: anyone on the network path can read the phone numbers and the links. Set ca_file to the gateway's CA instead.")
	}
	if strings.HasPrefix(o.BaseURL, "http://") {
		out = append(out, "base_url is http:// — the credentials, the phone numbers and the links travel unencrypted. Use https://.")
	}
	return out
}
