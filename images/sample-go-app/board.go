package main

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Note is one entry of the board.
type Note struct {
	ID      int       `json:"id" xml:"id,attr"`
	Title   string    `json:"title" xml:"title"`
	Body    string    `json:"body" xml:"body"`
	Tags    []string  `json:"tags,omitempty" xml:"tag"`
	Created time.Time `json:"created" xml:"created"`
}

// Validate checks what a client sends.
func (n Note) Validate() error {
	var errs []error
	if strings.TrimSpace(n.Title) == "" {
		errs = append(errs, errors.New("title is required"))
	}
	if utf8.RuneCountInString(n.Title) > 120 {
		errs = append(errs, fmt.Errorf("title has %d characters, at most 120", utf8.RuneCountInString(n.Title)))
	}
	for _, t := range n.Tags {
		if t == "" || strings.ContainsAny(t, " \t\n,") {
			errs = append(errs, fmt.Errorf("tag %q: one word", t))
		}
	}
	return errors.Join(errs...)
}

// Board keeps notes in memory.
type Board struct {
	mu    sync.RWMutex
	next  int
	notes []Note
}

func NewBoard() *Board { return &Board{next: 1} }

func (b *Board) Add(n Note) Note {
	b.mu.Lock()
	defer b.mu.Unlock()
	n.ID = b.next
	b.next++
	if n.Created.IsZero() {
		n.Created = time.Now().UTC()
	}
	n.Tags = slices.Compact(slices.Sorted(slices.Values(n.Tags)))
	b.notes = append(b.notes, n)
	return n
}

func (b *Board) List() []Note {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := slices.Clone(b.notes)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out
}

// Counts: notes per hour over the last 24 hours, oldest first.
func (b *Board) Counts() []int {
	counts := make([]int, 24)
	now := time.Now()
	for _, n := range b.List() {
		h := int(now.Sub(n.Created).Hours())
		if h >= 0 && h < 24 {
			counts[23-h]++
		}
	}
	return counts
}
