package main

import (
	"encoding/xml"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"slices"
)

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"date": func(n Note) string { return n.Created.Format("2006-01-02 15:04") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Build notes</title></head>
<body><h1>Build notes <img src="/badge.svg" alt="badge"></h1>
<img src="/sparkline.png" alt="notes per hour">
<ul>{{range .}}<li><strong>{{.Title}}</strong> <small>{{date .}}</small>
<p>{{.Body}}</p>{{with .Tags}}<p>{{range .}}<code>{{.}}</code> {{end}}</p>{{end}}</li>{{else}}<li>no notes</li>{{end}}</ul>
</body></html>
`))

func renderPage(w http.ResponseWriter, notes []Note) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, notes); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

type svgText struct {
	X    int    `xml:"x,attr"`
	Y    int    `xml:"y,attr"`
	Fill string `xml:"fill,attr"`
	Text string `xml:",chardata"`
}

type svgRect struct {
	X      int    `xml:"x,attr"`
	Width  int    `xml:"width,attr"`
	Height int    `xml:"height,attr"`
	Fill   string `xml:"fill,attr"`
}

type svg struct {
	XMLName xml.Name  `xml:"svg"`
	NS      string    `xml:"xmlns,attr"`
	Width   int       `xml:"width,attr"`
	Height  int       `xml:"height,attr"`
	Rects   []svgRect `xml:"rect"`
	Texts   []svgText `xml:"text"`
}

// writeBadge writes a shields-style SVG badge "label | value".
func writeBadge(w io.Writer, label string, value int) error {
	v := fmt.Sprint(value)
	lw, vw := 6*len(label)+10, 7*len(v)+10
	b := svg{NS: "http://www.w3.org/2000/svg", Width: lw + vw, Height: 20,
		Rects: []svgRect{{0, lw, 20, "#555"}, {lw, vw, 20, "#4c1"}},
		Texts: []svgText{{5, 14, "#fff", label}, {lw + 5, 14, "#fff", v}}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	return enc.Encode(b)
}

// writeSparkline draws counts as a bar chart PNG.
func writeSparkline(w io.Writer, counts []int, width, height int) error {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	maxc := 1
	if len(counts) > 0 {
		maxc = max(1, slices.Max(counts))
	}
	bar := max(1, width/max(1, len(counts)))
	ink := color.RGBA{0x44, 0xcc, 0x11, 0xff}
	for i, c := range counts {
		h := c * (height - 1) / maxc
		for x := i * bar; x < (i+1)*bar-1 && x < width; x++ {
			for y := height - 1; y >= height-1-h; y-- {
				img.Set(x, y, ink)
			}
		}
	}
	return png.Encode(w, img)
}
