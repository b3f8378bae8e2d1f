package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// itemFiller reads a fan-out's arguments once, and returns what fills an item into them. The
// arguments are encoded once, each string that uses the item standing in as a slot; filling an
// item writes the text between the slots and encodes only what goes in them. A fan-out of
// 10,000 items is filled three times (checked when the run is made, checked again when it is
// released, stored a chunk at a time), and walking, copying and encoding the whole arguments
// for each item was a third of the engine's CPU in kiln bench --workflow.
func itemFiller(args string) (func(item any) (string, error), error) {
	if !strings.Contains(args, "${item") {
		return func(any) (string, error) { return args, nil }, nil
	}
	tree, err := decodeJSON(args)
	if err != nil {
		return nil, fmt.Errorf("the arguments are not JSON: %w", err)
	}
	longWay := func(item any) (string, error) { return fillItemTree(deepCopy(tree), item) }
	var slots []itemSlot
	marked, err := markSlots(deepCopy(tree), &slots)
	if err != nil {
		return nil, err
	}
	text, err := encodeJSON(marked)
	if err != nil {
		return nil, err
	}
	prefix, _ := encodeJSON(slotMark)
	if strings.Count(text, strings.Trim(prefix, `"`)) != len(slots) { // arguments that spell a slot
		return longWay, nil
	}
	// The text between the slots, in the order they come in it.
	type at struct{ pos, slot, end int }
	var where []at
	for i := range slots {
		mark, err := encodeJSON(slotName(i))
		if err != nil {
			return nil, err
		}
		pos := strings.Index(text, mark)
		if pos < 0 {
			return nil, fmt.Errorf("models: the arguments lost the place of %s", slots[i].refs[0].Text)
		}
		where = append(where, at{pos, i, pos + len(mark)})
	}
	slices.SortFunc(where, func(a, b at) int { return a.pos - b.pos })
	var between []string
	var order []int
	last := 0
	for _, w := range where {
		between = append(between, text[last:w.pos])
		order = append(order, w.slot)
		last = w.end
	}
	between = append(between, text[last:])
	return func(item any) (string, error) {
		var b strings.Builder
		b.Grow(len(text))
		for i, s := range order {
			b.WriteString(between[i])
			v, err := slots[s].fill(item)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		}
		b.WriteString(between[len(between)-1])
		return b.String(), nil
	}, nil
}

// fillItemTree fills the item's templates in tree (decoded arguments, filled in place).
func fillItemTree(tree any, item any) (string, error) {
	isItem := func(r tmplRef) bool { return r.Step == "" }
	v, err := fillValue(tree, isItem, func(r tmplRef) (any, error) { return valueAt(item, r.Path, "the item") })
	if err != nil {
		return "", err
	}
	return encodeJSON(v)
}

// slotMark begins the string that stands in for a slot while the arguments are encoded. It
// holds a NUL, which arguments hardly spell; those that do are filled the long way (the
// encoder writes every string alike, however the arguments escaped it, so they are seen).
const slotMark = "\x00kiln-item-slot-"

func slotName(i int) string { return slotMark + strconv.Itoa(i) + "\x00" }

// itemSlot is a string of the arguments that uses the item: the text around its templates
// (pieces, one more than refs), or, when one template is the whole string, that template.
type itemSlot struct {
	pieces []string
	refs   []tmplRef
	whole  bool
}

// markSlots replaces, in v, each string that uses the item by a slot's name, and returns v.
func markSlots(v any, slots *[]itemSlot) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			f, err := markSlots(e, slots)
			if err != nil {
				return nil, err
			}
			x[k] = f
		}
	case []any:
		for i, e := range x {
			f, err := markSlots(e, slots)
			if err != nil {
				return nil, err
			}
			x[i] = f
		}
	case string:
		slot, ok, err := parseSlot(x)
		if err != nil || !ok {
			return x, err
		}
		*slots = append(*slots, slot)
		return slotName(len(*slots) - 1), nil
	}
	return v, nil
}

// parseSlot reads the item's templates in s, as fillString would fill them; ok is false when
// s has none (a template of a step's result stays as it is written).
func parseSlot(s string) (itemSlot, bool, error) {
	var slot itemSlot
	last := 0
	for _, l := range templateRE.FindAllStringSubmatchIndex(s, -1) {
		ref, err := parseTemplate(s[l[2]:l[3]])
		if err != nil {
			return slot, false, err
		}
		if ref.Step != "" {
			continue
		}
		if l[0] == 0 && l[1] == len(s) {
			return itemSlot{refs: []tmplRef{ref}, whole: true}, true, nil
		}
		slot.pieces = append(slot.pieces, s[last:l[0]])
		slot.refs = append(slot.refs, ref)
		last = l[1]
	}
	if len(slot.refs) == 0 {
		return slot, false, nil
	}
	slot.pieces = append(slot.pieces, s[last:])
	return slot, true, nil
}

// fill is the JSON that goes in the slot for item.
func (s itemSlot) fill(item any) (string, error) {
	if s.whole { // the value, of its own type
		v, err := valueAt(item, s.refs[0].Path, "the item")
		if err != nil {
			return "", err
		}
		switch x := v.(type) { // most items are numbers or ids: written as they were read
		case json.Number:
			return string(x), nil
		case nil:
			return "null", nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		return encodeJSON(v)
	}
	var b strings.Builder
	for i, ref := range s.refs {
		b.WriteString(s.pieces[i])
		v, err := valueAt(item, ref.Path, "the item")
		if err != nil {
			return "", err
		}
		if str, ok := v.(string); ok {
			b.WriteString(str)
			continue
		}
		t, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("%s: %w", ref.Text, err)
		}
		b.Write(t)
	}
	b.WriteString(s.pieces[len(s.pieces)-1])
	return encodeJSON(b.String())
}
