package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAPI(t *testing.T) {
	srv := httptest.NewServer(routes(NewBoard()))
	defer srv.Close()
	res, err := http.Post(srv.URL+"/api/notes", "application/json", strings.NewReader(`{"title":"a","tags":["x","x"]}`))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %v %v", err, res)
	}
	res, _ = http.Post(srv.URL+"/api/notes", "application/json", strings.NewReader(`{"title":""}`))
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("empty title: %d", res.StatusCode)
	}
	for _, p := range []string{"/", "/badge.svg", "/sparkline.png", "/healthz", "/api/notes"} {
		res, err := http.Get(srv.URL + p)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", p, err, res)
		}
	}
	var buf bytes.Buffer
	if err := writeBadge(&buf, "notes", 12); err != nil || !strings.Contains(buf.String(), ">12<") {
		t.Fatalf("badge: %v %s", err, buf.String())
	}
}
