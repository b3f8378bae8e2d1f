package models

import (
	"strings"
	"testing"
)

// The filler that writes around slots fills every item as filling the whole decoded arguments
// does: same text, same errors.
func TestItemFillerFillsAsTheTreeDoes(t *testing.T) {
	args := []string{
		`{"item":"${item}"}`,
		`{"url":"https://x/${item.id}?q=${item.name}","body":"${item}","n":3,"keep":"${steps.a.result}"}`,
		`{"list":["${item.0}",{"deep":"${item.1.k}"},"plain"],"z":"<${item.0}&>"}`,
		`{"a":"${item}${steps.a.result} and ${item.name}","b":{"c":"${item.name}"}}`,
		`{"spelled":"\u0000kiln-item-slot-0\u0000","x":"${item}"}`,
		`{"spelled":"\u0000kiln-item-slot-7","x":"${item.id}"}`,
		`["${item}", "${item}", 1]`,
		`"${item.name}"`,
	}
	items := []string{`1`, `"text"`, `{"id":7,"name":"<b>","k":[1,2]}`, `[10,{"k":"v"}]`, `{"id":1.50,"name":null}`, `null`, `[]`}
	for _, a := range args {
		fill, err := itemFiller(a)
		if err != nil {
			t.Fatalf("itemFiller(%s): %v", a, err)
		}
		tree, err := decodeJSON(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			item, err := decodeJSON(it)
			if err != nil {
				t.Fatal(err)
			}
			got, gotErr := fill(item)
			want, wantErr := fillItemTree(deepCopy(tree), item)
			if got != want || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Errorf("args %s, item %s:\n got %q, %v\nwant %q, %v", a, it, got, gotErr, want, wantErr)
			}
		}
	}
}

func TestItemFillerRefusesABadTemplate(t *testing.T) {
	if _, err := itemFiller(`{"a":"${item.}"}`); err == nil || !strings.Contains(err.Error(), "not a template") {
		t.Fatalf("itemFiller of a bad template: %v", err)
	}
}

// BenchmarkItemFiller fills one item into an http.request's arguments: by slots, as a fan-out
// does, and by walking the whole decoded arguments, as it did.
func BenchmarkItemFiller(b *testing.B) {
	args := `{"url":"https://example.com/files/${item.id}","body":"${item}","retries":3}`
	item, _ := decodeJSON(`{"id":42,"name":"report.pdf"}`)
	fill, err := itemFiller(args)
	if err != nil {
		b.Fatal(err)
	}
	tree, _ := decodeJSON(args)
	for name, f := range map[string]func(any) (string, error){
		"slots": fill,
		"tree":  func(item any) (string, error) { return fillItemTree(deepCopy(tree), item) },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f(item); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
