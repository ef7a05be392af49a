package web

import (
	"fmt"
	"maps"
)

// Text is one message in the three languages of the pages, in the order
// pt-BR, es, en. The strings are fmt formats when the message takes
// arguments.
type Text [3]string

// Catalog holds a package's page texts by key.
type Catalog map[string]Text

// T returns the text of key in lang, formatted with args. A missing key
// gives the key itself, so that a forgotten text shows on the page
// instead of an empty space.
func (c Catalog) T(lang, key string, args ...any) string {
	t, ok := c[key]
	if !ok {
		return key
	}
	s := t[0]
	switch lang {
	case LangES:
		s = t[1]
	case LangEN:
		s = t[2]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// With returns a catalog holding c's texts and more's (more wins).
func (c Catalog) With(more Catalog) Catalog {
	out := make(Catalog, len(c)+len(more))
	maps.Copy(out, c)
	maps.Copy(out, more)
	return out
}

// Texts are the layout's own texts (header, footer, generic errors); page
// catalogs extend them with With.
var Texts = Catalog{
	"app":             {"Importar planilhas", "Importar planillas", "Import sheets"},
	"signed_in_as":    {"Conectado como %s", "Conectado como %s", "Signed in as %s"},
	"logout":          {"Sair", "Salir", "Log out"},
	"lang":            {"Idioma", "Idioma", "Language"},
	"home":            {"Minhas caixas de entrada", "Mis bandejas de entrada", "My inboxes"},
	"status_page":     {"Página de status", "Página de estado", "Status page"},
	"forbidden":       {"Você não tem acesso a esta caixa de entrada. Peça acesso a quem administra o fieldbridge.", "No tiene acceso a esta bandeja de entrada. Pida acceso a quien administra fieldbridge.", "You do not have access to this inbox. Ask whoever runs fieldbridge for access."},
	"not_found":       {"Página não encontrada.", "Página no encontrada.", "Page not found."},
	"csrf":            {"O formulário expirou ou não veio desta página. Recarregue a página e tente de novo.", "El formulario expiró o no vino de esta página. Recargue la página e intente de nuevo.", "The form expired or did not come from this page. Reload the page and try again."},
	"login_title":     {"Entrar", "Iniciar sesión", "Sign in"},
	"login_user":      {"Usuário", "Usuario", "User name"},
	"login_password":  {"Senha", "Contraseña", "Password"},
	"login_submit":    {"Entrar", "Entrar", "Sign in"},
	"login_wrong":     {"Usuário ou senha incorretos.", "Usuario o contraseña incorrectos.", "Wrong user name or password."},
	"login_throttled": {"Muitas tentativas erradas. Espere %d s e tente de novo.", "Demasiados intentos fallidos. Espere %d s e intente de nuevo.", "Too many wrong attempts. Wait %d s and try again."},
	"logged_out":      {"Você saiu.", "Ha cerrado la sesión.", "You are logged out."},
	"index_title":     {"Caixas de entrada", "Bandejas de entrada", "Inboxes"},
	"index_none":      {"Nenhuma caixa de entrada foi dada a você. Peça acesso a quem administra o fieldbridge.", "No se le asignó ninguna bandeja de entrada. Pida acceso a quien administra fieldbridge.", "No inbox is given to you. Ask whoever runs fieldbridge for access."},
}
