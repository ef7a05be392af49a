package web

import (
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"time"
)

// Client is a person's browser on the import pages over plain HTTP, the
// way the pages work without their script: cookies, the session's CSRF
// token read from each page, the sign-in form and the drop form. The demo
// and the tests use it.
type Client struct {
	// Base is the server's URL ("http://127.0.0.1:8080").
	Base string
	HTTP *http.Client
	// CSRF is the token of the last page read.
	CSRF string
}

// NewClient returns a client with its own cookies.
func NewClient(base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{Base: base, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var (
	pageCSRF  = regexp.MustCompile(`data-csrf="([^"]+)"`)
	formToken = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// read returns an answer's status, body and final path (after
// redirects), remembering the page's CSRF token.
func (c *Client) read(resp *http.Response, err error) (int, string, string, error) {
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", "", err
	}
	if m := pageCSRF.FindSubmatch(b); m != nil && len(m[1]) > 0 {
		c.CSRF = string(m[1])
	}
	return resp.StatusCode, string(b), resp.Request.URL.Path, nil
}

// Get reads the page at path.
func (c *Client) Get(path string) (code int, body string, err error) {
	code, body, _, err = c.read(c.HTTP.Get(c.Base + path))
	return code, body, err
}

// Post sends a form, with the session's CSRF token unless withCSRF is
// false, and returns where it ended.
func (c *Client) Post(path string, form url.Values, withCSRF bool) (code int, body, final string, err error) {
	if withCSRF {
		form.Set("csrf", c.CSRF)
	}
	return c.read(c.HTTP.PostForm(c.Base+path, form))
}

// Login fills the sign-in form; on success the client holds a session
// and its CSRF token.
func (c *Client) Login(user, password string) (code int, body string, err error) {
	_, page, err := c.Get("/login")
	if err != nil {
		return 0, "", err
	}
	tok := ""
	if m := formToken.FindStringSubmatch(page); m != nil {
		tok = m[1]
	}
	code, body, _, err = c.Post("/login", url.Values{"user": {user}, "password": {password}, "csrf": {tok}}, false)
	if err == nil && code == http.StatusOK {
		_, _, err = c.Get("/import/") // the session's token
	}
	return code, body, err
}

// Upload sends a file as the drop form at path does (streamed, multipart)
// and returns where it ended: the draft's preview.
func (c *Client) Upload(path, name string, data []byte) (code int, body, final string, err error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = fw.Write(data)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, c.Base+path+"?csrf="+url.QueryEscape(c.CSRF), pr)
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.read(c.HTTP.Do(req))
}
