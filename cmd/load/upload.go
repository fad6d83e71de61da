package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strconv"

	"estatecrm/internal/loadgen"
)

// uploader files complaints with photos as a homeowner, the way a phone
// sends them: one multipart request, the photos streamed from a pipe so
// that neither side needs them whole in memory.
type uploader struct {
	c      *loadgen.Client
	unit   string
	photos int
	size   int64
	jpeg   []byte
}

func newUploader(url, login, password string, photos int, size int64) (*uploader, error) {
	c := &loadgen.Client{URL: url, HTTP: &http.Client{Transport: &http.Transport{}}}
	var auth struct{ Login struct{ AccessToken string } }
	if err := c.Do(`mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`,
		map[string]any{"l": login, "p": password}, &auth); err != nil {
		return nil, fmt.Errorf("homeowner login: %w", err)
	}
	c.Token = auth.Login.AccessToken
	var units struct {
		Units struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	if err := c.Do(`{ units(first: 1) { edges { node { id } } } }`, nil, &units); err != nil || len(units.Units.Edges) == 0 {
		return nil, fmt.Errorf("the homeowner %s owns no unit (%v)", login, err)
	}
	var head bytes.Buffer
	if err := jpeg.Encode(&head, image.NewGray(image.Rect(0, 0, 32, 32)), nil); err != nil {
		return nil, err
	}
	return &uploader{c: c, unit: units.Units.Edges[0].Node.ID, photos: photos, size: size, jpeg: head.Bytes()}, nil
}

// photo is a JPEG padded with noise after its end to size bytes (a phone
// photo's size without its cost to make).
func (u *uploader) photo(w io.Writer) error {
	if _, err := w.Write(u.jpeg); err != nil {
		return err
	}
	_, err := io.CopyN(w, noise{rand.New(rand.NewPCG(rand.Uint64(), 1))}, u.size-int64(len(u.jpeg)))
	return err
}

type noise struct{ r *rand.Rand }

func (n noise) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(n.r.Uint32())
	}
	return len(p), nil
}

// submit sends one complaint with its photos.
func (u *uploader) submit() error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(u.write(mw))
	}()
	req, _ := http.NewRequest(http.MethodPost, u.c.URL, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+u.c.Token)
	res, err := u.c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var out struct{ Errors []struct{ Message string } }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	if len(out.Errors) > 0 {
		return errors.New(out.Errors[0].Message)
	}
	return nil
}

func (u *uploader) write(mw *multipart.Writer) error {
	nulls := make([]any, u.photos)
	paths := map[string][]string{}
	for i := range u.photos {
		paths[strconv.Itoa(i)] = []string{"variables.in.photos." + strconv.Itoa(i)}
	}
	ops, _ := json.Marshal(map[string]any{
		"query": `mutation($in: SubmitComplaintInput!) { submitComplaint(input: $in) { complaint { id } } }`,
		"variables": map[string]any{"in": map[string]any{"unitId": u.unit, "category": "LEAK", "title": "load test",
			"description": "photos of a leak", "photos": nulls}},
	})
	m, _ := json.Marshal(paths)
	if err := mw.WriteField("operations", string(ops)); err != nil {
		return err
	}
	if err := mw.WriteField("map", string(m)); err != nil {
		return err
	}
	for i := range u.photos {
		w, err := mw.CreateFormFile(strconv.Itoa(i), "photo.jpg")
		if err != nil {
			return err
		}
		if err := u.photo(w); err != nil {
			return err
		}
	}
	return mw.Close()
}
