package results

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/fieldbridge/fieldbridge/transports"
)

// validName checks one path element. (Stand-in for transports.ValidName
// until it lands on main.)
func validName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", transports.ErrUnsafeName)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", transports.ErrUnsafeName, name)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %q is not valid UTF-8", transports.ErrUnsafeName, name)
	}
	for _, r := range name {
		if r == '/' || r == '\\' || r == 0 || unicode.IsControl(r) {
			return fmt.Errorf("%w: %q contains a slash, backslash or control character", transports.ErrUnsafeName, name)
		}
	}
	return nil
}
