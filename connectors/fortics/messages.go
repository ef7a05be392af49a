package fortics

import (
	"sort"
	"strconv"
	"strings"
)

// Reasons an invalid_request (or another refusal) gives; each has its own
// message, which Options.Messages may override by the reason's key.
const (
	ReasonMissingLocation = "missing_location" // no lat/lng, coords, link or address
	ReasonBadCoordinates  = "bad_coordinates"  // coordinates not readable
	ReasonOutOfRange      = "out_of_range"     // latitude/longitude outside the Earth
	ReasonNeedCoordinates = "need_coordinates" // an address, but no geocoder configured
	ReasonAddressNotFound = "address_not_found"
	ReasonShortLink       = "short_link" // a shortened map link that cannot be opened
	ReasonBadBody         = "bad_body"   // body not JSON/form, or too large
	ReasonMethod          = "method"     // not GET or POST
	ReasonPath            = "path"       // unknown path under the route
)

// message keys: the statuses, then the reasons.
var messageKeys = []string{
	StatusFound, StatusNotFound, StatusNoViability, StatusInvalidRequest,
	StatusUnauthorized, StatusRateLimited, StatusUnavailable,
	ReasonMissingLocation, ReasonBadCoordinates, ReasonOutOfRange, ReasonNeedCoordinates,
	ReasonAddressNotFound, ReasonShortLink, ReasonBadBody, ReasonMethod, ReasonPath,
}

func knownMessageKey(k string) bool {
	for _, m := range messageKeys {
		if m == k {
			return true
		}
	}
	return false
}

func messageKeyList() string {
	l := append([]string(nil), messageKeys...)
	sort.Strings(l)
	return strings.Join(l, ", ")
}

// catalogs holds the built-in messages per language.
var catalogs = map[string]map[string]string{
	"pt-BR": {
		StatusFound:           "Encontramos viabilidade no seu endereço.",
		StatusNotFound:        "Não encontramos rede de fibra perto deste endereço.",
		StatusNoViability:     "Área sem viabilidade: há rede por perto, mas sem portas livres no momento.",
		StatusInvalidRequest:  "Não entendi a localização. Envie a localização, as coordenadas ou o endereço.",
		StatusUnauthorized:    "Acesso negado: token ausente ou inválido.",
		StatusRateLimited:     "Muitas consultas seguidas. Aguarde alguns segundos e tente de novo.",
		StatusUnavailable:     "Não foi possível consultar a viabilidade agora. Tente novamente em alguns minutos.",
		ReasonMissingLocation: "Envie a localização: latitude e longitude, um link do mapa ou o endereço.",
		ReasonBadCoordinates:  "Não entendi as coordenadas. Envie, por exemplo: -23.55, -46.63.",
		ReasonOutOfRange:      "Coordenadas fora do intervalo: a latitude vai de -90 a 90 e a longitude de -180 a 180.",
		ReasonNeedCoordinates: "Não é possível consultar por endereço. Envie a localização ou as coordenadas.",
		ReasonAddressNotFound: "Não encontramos este endereço. Confira o endereço ou envie a localização.",
		ReasonShortLink:       "Não consigo abrir links encurtados. Envie a localização ou as coordenadas.",
		ReasonBadBody:         "Pedido inválido: envie JSON ou formulário com a localização.",
		ReasonMethod:          "Método não permitido: use GET ou POST.",
		ReasonPath:            "Endereço de consulta desconhecido.",
	},
	"es": {
		StatusFound:           "Encontramos viabilidad en su dirección.",
		StatusNotFound:        "No encontramos red de fibra cerca de esta dirección.",
		StatusNoViability:     "Área sin viabilidad: hay red cerca, pero sin puertos libres en este momento.",
		StatusInvalidRequest:  "No entendí la ubicación. Envíe la ubicación, las coordenadas o la dirección.",
		StatusUnauthorized:    "Acceso denegado: token ausente o inválido.",
		StatusRateLimited:     "Demasiadas consultas seguidas. Espere unos segundos e intente de nuevo.",
		StatusUnavailable:     "No fue posible consultar la viabilidad ahora. Intente de nuevo en unos minutos.",
		ReasonMissingLocation: "Envíe la ubicación: latitud y longitud, un enlace del mapa o la dirección.",
		ReasonBadCoordinates:  "No entendí las coordenadas. Envíe, por ejemplo: -23.55, -46.63.",
		ReasonOutOfRange:      "Coordenadas fuera de rango: la latitud va de -90 a 90 y la longitud de -180 a 180.",
		ReasonNeedCoordinates: "No es posible consultar por dirección. Envíe la ubicación o las coordenadas.",
		ReasonAddressNotFound: "No encontramos esta dirección. Revise la dirección o envíe la ubicación.",
		ReasonShortLink:       "No puedo abrir enlaces acortados. Envíe la ubicación o las coordenadas.",
		ReasonBadBody:         "Solicitud inválida: envíe JSON o formulario con la ubicación.",
		ReasonMethod:          "Método no permitido: use GET o POST.",
		ReasonPath:            "Dirección de consulta desconocida.",
	},
	"en": {
		StatusFound:           "Fibre is available at your address.",
		StatusNotFound:        "We found no fibre network near this address.",
		StatusNoViability:     "No availability in this area: the network is near, but no port is free right now.",
		StatusInvalidRequest:  "I could not read the location. Send the location, the coordinates or the address.",
		StatusUnauthorized:    "Access denied: missing or wrong token.",
		StatusRateLimited:     "Too many questions in a row. Wait a few seconds and try again.",
		StatusUnavailable:     "The availability check is not possible right now. Try again in a few minutes.",
		ReasonMissingLocation: "Send the location: latitude and longitude, a map link or the address.",
		ReasonBadCoordinates:  "I could not read the coordinates. Send, for example: -23.55, -46.63.",
		ReasonOutOfRange:      "Coordinates out of range: latitude goes from -90 to 90 and longitude from -180 to 180.",
		ReasonNeedCoordinates: "Questions by address are not possible. Send the location or the coordinates.",
		ReasonAddressNotFound: "We could not find this address. Check it or send the location.",
		ReasonShortLink:       "I cannot open shortened links. Send the location or the coordinates.",
		ReasonBadBody:         "Bad request: send JSON or a form with the location.",
		ReasonMethod:          "Method not allowed: use GET or POST.",
		ReasonPath:            "Unknown question address.",
	},
}

// canonLang maps language spellings to a catalog name.
func canonLang(l string) string {
	switch strings.ToLower(strings.ReplaceAll(l, "_", "-")) {
	case "", "pt", "pt-br", "pt-pt", "portugues", "português":
		return "pt-BR"
	case "es", "es-es", "es-ar", "es-mx", "es-cl", "es-co", "es-pe", "es-uy", "es-py", "espanol", "español":
		return "es"
	case "en", "en-us", "en-gb", "english":
		return "en"
	}
	return l
}

// messages resolves the texts for one handler: overrides first, then the
// language's catalog.
type messages struct {
	texts map[string]string
	// templated marks texts holding placeholders.
	templated map[string]bool
}

func newMessages(lang string, overrides map[string]string) messages {
	cat := catalogs[canonLang(lang)]
	m := messages{texts: make(map[string]string, len(cat)), templated: map[string]bool{}}
	for k, v := range cat {
		m.texts[k] = v
	}
	for k, v := range overrides {
		m.texts[k] = v
		// An overridden status text also stands for its reasons, unless
		// they are overridden themselves.
		if k == StatusInvalidRequest {
			for _, r := range []string{ReasonMissingLocation, ReasonBadCoordinates, ReasonOutOfRange,
				ReasonNeedCoordinates, ReasonAddressNotFound, ReasonShortLink, ReasonBadBody} {
				if _, own := overrides[r]; !own {
					m.texts[r] = v
				}
			}
		}
	}
	for k, v := range m.texts {
		m.templated[k] = strings.Contains(v, "{")
	}
	return m
}

// text returns the message for key (a reason or a status), filling the
// placeholders from a.
func (m messages) text(key string, a *Answer) string {
	t := m.texts[key]
	if !m.templated[key] {
		return t
	}
	return strings.NewReplacer(
		"{box}", a.Box,
		"{free_ports}", strconv.Itoa(a.FreePorts),
		"{distance}", strconv.FormatFloat(a.BoxDistanceM, 'f', -1, 64),
		"{pole}", a.Pole,
		"{lat}", strconv.FormatFloat(a.Lat, 'f', -1, 64),
		"{lng}", strconv.FormatFloat(a.Lng, 'f', -1, 64),
	).Replace(t)
}
