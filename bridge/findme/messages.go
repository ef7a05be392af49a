package findme

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
)

// Text ids of what the bot and the customer read.
const (
	txtSMS = iota
	txtSent
	txtWaiting
	txtExpiredBot
	txtBadPhone
	txtNumberTooMany
	txtTooMany
	txtBadBody
	txtUnauthorized
	txtMethod
	txtUnavailable
	txtSMSRejected
	txtNoSuchID
	txtLinkUnknownTitle
	txtLinkUnknown
	txtLinkUsedTitle
	txtLinkUsed
	txtLinkExpiredTitle
	txtLinkExpired
	txtErrorTitle
	txtPageUnavailable
	txtBadForm
	txtNoLocation
	txtThanksTitle
	txtThanks
	txtSentUnconfirmed
)

var texts = map[string][]string{
	"pt-BR": {
		txtSMS:              "Para ver se há fibra no seu endereço, toque no link e escolha o local: {link} (vale {minutes} min)",
		txtSent:             "Enviamos um SMS para %s com o link.",
		txtWaiting:          "Aguardando o cliente escolher o local no link enviado para %s.",
		txtExpiredBot:       "O link expirou sem que o cliente escolhesse o local. Peça a localização de outra forma ou envie um novo link.",
		txtBadPhone:         "Não é um número de celular válido. Informe o celular com DDD, por exemplo (48) 99999-1234.",
		txtNumberTooMany:    "Já enviamos vários links para %s na última hora. Aguarde antes de pedir outro.",
		txtTooMany:          "Muitos pedidos de link em pouco tempo. Tente de novo em alguns segundos.",
		txtBadBody:          "O pedido não pôde ser lido: envie JSON com \"phone\" (e, se quiser, \"chat\").",
		txtUnauthorized:     "Token ausente ou inválido.",
		txtMethod:           "Use POST para enviar um link e GET /<id> para a resposta.",
		txtUnavailable:      "Não foi possível enviar o SMS agora. Tente de novo em instantes.",
		txtSMSRejected:      "A operadora de SMS recusou o envio para %s. Confira o número.",
		txtNoSuchID:         "Não há pedido com esse id.",
		txtLinkUnknownTitle: "Link inválido",
		txtLinkUnknown:      "Este link não existe. Confira se copiou o endereço completo do SMS.",
		txtLinkUsedTitle:    "Link já usado",
		txtLinkUsed:         "Este link já foi usado. Volte à conversa para continuar.",
		txtLinkExpiredTitle: "Link expirado",
		txtLinkExpired:      "Este link expirou. Volte à conversa e peça um novo.",
		txtErrorTitle:       "Erro",
		txtPageUnavailable:  "Não foi possível abrir esta página agora. Tente de novo em instantes.",
		txtBadForm:          "Não conseguimos ler o formulário. Tente de novo.",
		txtNoLocation:       "Escolha o local: use sua localização, arraste o marcador ou digite o endereço.",
		txtThanksTitle:      "Obrigado!",
		txtThanks:           "Recebemos o local. Volte à conversa: a resposta já está lá.",
		txtSentUnconfirmed:  "Pedimos o envio de um SMS para %s com o link, mas a operadora não confirmou. Se não chegar em alguns minutos, peça um novo link.",
	},
	"es": {
		txtSMS:              "Para saber si hay fibra en su dirección, toque el enlace y elija el lugar: {link} (vale {minutes} min)",
		txtSent:             "Enviamos un SMS a %s con el enlace.",
		txtWaiting:          "Esperando que el cliente elija el lugar en el enlace enviado a %s.",
		txtExpiredBot:       "El enlace expiró sin que el cliente eligiera el lugar. Pida la ubicación de otra forma o envíe un nuevo enlace.",
		txtBadPhone:         "No es un número de celular válido. Indique el celular con el código de área.",
		txtNumberTooMany:    "Ya enviamos varios enlaces a %s en la última hora. Espere antes de pedir otro.",
		txtTooMany:          "Demasiados pedidos de enlace en poco tiempo. Intente de nuevo en unos segundos.",
		txtBadBody:          "No se pudo leer el pedido: envíe JSON con \"phone\" (y, si quiere, \"chat\").",
		txtUnauthorized:     "Token ausente o inválido.",
		txtMethod:           "Use POST para enviar un enlace y GET /<id> para la respuesta.",
		txtUnavailable:      "No fue posible enviar el SMS ahora. Intente de nuevo en un momento.",
		txtSMSRejected:      "El proveedor de SMS rechazó el envío a %s. Revise el número.",
		txtNoSuchID:         "No hay pedido con ese id.",
		txtLinkUnknownTitle: "Enlace inválido",
		txtLinkUnknown:      "Este enlace no existe. Revise que copió la dirección completa del SMS.",
		txtLinkUsedTitle:    "Enlace ya usado",
		txtLinkUsed:         "Este enlace ya fue usado. Vuelva a la conversación para continuar.",
		txtLinkExpiredTitle: "Enlace expirado",
		txtLinkExpired:      "Este enlace expiró. Vuelva a la conversación y pida uno nuevo.",
		txtErrorTitle:       "Error",
		txtPageUnavailable:  "No fue posible abrir esta página ahora. Intente de nuevo en un momento.",
		txtBadForm:          "No pudimos leer el formulario. Intente de nuevo.",
		txtNoLocation:       "Elija el lugar: use su ubicación, arrastre el marcador o escriba la dirección.",
		txtThanksTitle:      "¡Gracias!",
		txtThanks:           "Recibimos el lugar. Vuelva a la conversación: la respuesta ya está allí.",
		txtSentUnconfirmed:  "Pedimos el envío de un SMS a %s con el enlace, pero el proveedor no lo confirmó. Si no llega en unos minutos, pida un nuevo enlace.",
	},
	"en": {
		txtSMS:              "To see if there is fibre at your address, tap the link and choose the place: {link} (valid {minutes} min)",
		txtSent:             "We sent an SMS with the link to %s.",
		txtWaiting:          "Waiting for the customer to choose the place on the link sent to %s.",
		txtExpiredBot:       "The link expired without the customer choosing a place. Ask for the location another way or send a new link.",
		txtBadPhone:         "Not a valid mobile number. Give the mobile number with its area code.",
		txtNumberTooMany:    "Several links were sent to %s in the last hour. Wait before asking for another.",
		txtTooMany:          "Too many link requests in a short time. Try again in a few seconds.",
		txtBadBody:          "The request could not be read: send JSON with \"phone\" (and, optionally, \"chat\").",
		txtUnauthorized:     "Missing or wrong token.",
		txtMethod:           "Use POST to send a link and GET /<id> for the answer.",
		txtUnavailable:      "The SMS could not be sent now. Try again in a moment.",
		txtSMSRejected:      "The SMS provider refused to send to %s. Check the number.",
		txtNoSuchID:         "There is no request with that id.",
		txtLinkUnknownTitle: "Invalid link",
		txtLinkUnknown:      "This link does not exist. Check that you copied the whole address from the SMS.",
		txtLinkUsedTitle:    "Link already used",
		txtLinkUsed:         "This link has already been used. Go back to the chat to continue.",
		txtLinkExpiredTitle: "Link expired",
		txtLinkExpired:      "This link has expired. Go back to the chat and ask for a new one.",
		txtErrorTitle:       "Error",
		txtPageUnavailable:  "This page cannot be opened now. Try again in a moment.",
		txtBadForm:          "We could not read the form. Try again.",
		txtNoLocation:       "Choose the place: use your location, drag the marker or type the address.",
		txtThanksTitle:      "Thank you!",
		txtThanks:           "We have the place. Go back to the chat: the answer is there.",
		txtSentUnconfirmed:  "We asked for an SMS with the link to be sent to %s, but the provider did not confirm it. If it does not arrive in a few minutes, ask for a new link.",
	},
}

// lang is a supported language, pt-BR by default.
func lang(l string) string {
	if _, ok := texts[l]; ok {
		return l
	}
	return "pt-BR"
}

func (s *Service) text(id int, args ...any) string {
	t := texts[s.d.Lang][id]
	if len(args) > 0 {
		return fmt.Sprintf(t, args...)
	}
	return t
}

func hexSum(sum [32]byte) string { return hex.EncodeToString(sum[:]) }

// sumEqual compares a stored token digest with a presented one in
// constant time.
func sumEqual(stored string, sum [32]byte) bool {
	b, err := hex.DecodeString(stored)
	return err == nil && subtle.ConstantTimeCompare(b, sum[:]) == 1
}
