package bridge

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Roles of the people who sign in to the import pages.
const (
	// RoleClerk sees the import pages of the inboxes she is given.
	RoleClerk = "clerk"
	// RoleOperator sees every inbox and the operator's status page.
	RoleOperator = "operator"
)

// UserConfig is one [[user]] table: a person who signs in to the import
// pages (/import/). The password is kept only as a bcrypt hash; make one
// with `fieldbridge user add`.
type UserConfig struct {
	// Name is what the person types to sign in.
	Name string `toml:"name"`
	// Role is "clerk" (default) or "operator".
	Role string `toml:"role"`
	// PasswordHash is the bcrypt hash of the password ("$2a$12$…"), or
	// "${ENV_VAR}" / "file:/path" holding it.
	PasswordHash string `toml:"password_hash" secret:"true"`
	// Inboxes are what a clerk may use: "job/inbox" (one inbox of a
	// sheet-officetrack job, by its name) or "job" (all of its inboxes).
	Inboxes []string `toml:"inboxes"`
	// Language of the pages for this person: "pt-BR", "es" or "en"
	// (default: the browser's, then the config's language).
	Language string `toml:"language"`
}

// Importer is implemented by jobs whose inboxes have import pages, where
// clerks drop sheets (/import/<job>/<inbox>/).
type Importer interface {
	ImportInboxes() []ImportInbox
}

// ImportInbox is one inbox with an import page.
type ImportInbox struct {
	// Name is the inbox's name within its job, in URLs and in grants.
	Name string
	// Where says where its files go (a folder), for the index page.
	Where string
}

// User is a signed-in person, as handlers of Users routes get it from
// UserFrom.
type User struct {
	Name     string
	Role     string
	Language string
	grants   map[string]bool // "job" or "job/inbox"
}

// Operator reports whether the user may see everything.
func (u *User) Operator() bool { return u != nil && u.Role == RoleOperator }

// CanImport reports whether the user may use the import page of inbox of
// job.
func (u *User) CanImport(job, inbox string) bool {
	if u == nil {
		return false
	}
	return u.Operator() || u.grants[job] || u.grants[job+"/"+inbox]
}

func newUser(uc UserConfig) *User {
	u := &User{Name: uc.Name, Role: uc.Role, Language: uc.Language, grants: map[string]bool{}}
	for _, g := range uc.Inboxes {
		u.grants[g] = true
	}
	return u
}

type userKey struct{}

// withUser returns ctx carrying the signed-in user and the session's CSRF
// token.
func withUser(ctx context.Context, u *User, csrf string) context.Context {
	return context.WithValue(ctx, userKey{}, &signedIn{u, csrf})
}

type signedIn struct {
	user *User
	csrf string
}

// UserFrom returns the signed-in user of a request to a Users route.
func UserFrom(ctx context.Context) (*User, bool) {
	s, ok := ctx.Value(userKey{}).(*signedIn)
	if !ok {
		return nil, false
	}
	return s.user, true
}

// CSRFToken returns the session's token that forms of Users routes must
// send back (field "csrf", or the X-CSRF-Token header).
func CSRFToken(ctx context.Context) string {
	s, ok := ctx.Value(userKey{}).(*signedIn)
	if !ok {
		return ""
	}
	return s.csrf
}

// HashPassword returns the bcrypt hash of a password, for [[user]]
// password_hash. Passwords shorter than 10 characters are refused.
func HashPassword(password string) (string, error) {
	if len([]rune(password)) < 10 {
		return "", fmt.Errorf("the password is too short: use at least 10 characters")
	}
	if len(password) > 72 {
		return "", fmt.Errorf("the password is too long: bcrypt uses at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), hashCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// hashCost is the bcrypt cost of password hashes (about 0.25 s each).
const hashCost = 12

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// checkUsers validates the [[user]] tables; importers maps each job that
// has import pages to its inboxes' names (nil for a job that could not be
// built, whose grants are not checked).
func checkUsers(cfg *Config, importers map[string][]string, kl keyLines, ps *problems) {
	seen := map[string]int{}
	for i := range cfg.Users {
		u := &cfg.Users[i]
		base := fmt.Sprintf("user#%d", i)
		w := fmt.Sprintf("user #%d", i+1)
		if userNameRE.MatchString(u.Name) {
			w = fmt.Sprintf("user %q", u.Name)
		}
		switch {
		case u.Name == "":
			ps.add(kl.line(base), w, "missing required key \"name\"")
		case !userNameRE.MatchString(u.Name):
			ps.add(kl.line(base+".name"), w, "name %q: use letters, digits, '.', '_', '@' and '-' (at most 64)", u.Name)
		default:
			key := strings.ToLower(u.Name)
			if first, dup := seen[key]; dup {
				ps.add(kl.line(base+".name"), w, "duplicate user name (first used on line %d)", first)
			} else {
				seen[key] = kl.line(base + ".name")
			}
		}
		if u.Role == "" {
			u.Role = RoleClerk
		}
		if u.Role != RoleClerk && u.Role != RoleOperator {
			ps.add(kl.line(base+".role"), w, "role %q is not %q or %q", u.Role, RoleClerk, RoleOperator)
		}
		switch {
		case u.PasswordHash == "":
			ps.add(kl.line(base), w, "missing password_hash: make one with `fieldbridge user add %s`", u.Name)
		default:
			if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
				ps.add(kl.line(base+".password_hash"), w, "password_hash is not a bcrypt hash (never write the password itself here): make one with `fieldbridge user add %s`", u.Name)
			}
		}
		if u.Language != "" && !slices.Contains(languages, u.Language) {
			ps.add(kl.line(base+".language"), w, "language %q is not one of %s", u.Language, strings.Join(languages, ", "))
		}
		if u.Role == RoleClerk && len(u.Inboxes) == 0 {
			ps.add(kl.line(base), w, "a clerk sees only the inboxes she is given: add inboxes = [\"job/inbox\"]")
		}
		for _, g := range u.Inboxes {
			job, inbox, one := strings.Cut(g, "/")
			names, ok := importers[job]
			switch {
			case ok && names == nil:
				// The job's own options are wrong; reported there.
			case !ok:
				ps.add(kl.line(base+".inboxes"), w, "inboxes: %q: no job %q with import pages (kind sheet-officetrack with a local inbox)", g, job)
			case one && !slices.Contains(names, inbox):
				ps.add(kl.line(base+".inboxes"), w, "inboxes: %q: job %q has no inbox %q (its inboxes: %s)", g, job, inbox, strings.Join(names, ", "))
			}
		}
	}
}
