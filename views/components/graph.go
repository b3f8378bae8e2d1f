package components

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// A run's graph, laid out here and drawn by GraphSVG: steps in layers left to right (a step's
// layer is the longest path to it from a step that depends on none), stacked in each layer,
// each dependency an edge from its right side to the dependent's left.

// GraphNode is one step to draw.
type GraphNode struct {
	Name      string
	State     string // a job state: the node's colour, as the state badges'
	Href      string // the step's job
	Duration  string // how long it ran or runs; "" when it has not started
	DependsOn []string
	// Counts, for a fan-out (one node for all its jobs), says how far its jobs are ("3/5 done ·
	// 1 failed"); it is drawn as a stack.
	Counts string
}

// Graph geometry, in SVG user units (pixels: the graph is drawn at its size and scrolls). A
// node shows its step's whole name, so that what it reads is what its link is named (WCAG
// 2.5.3): each layer is as wide as its longest line, at graphCharW a character (13 px text; the
// name in monospace, 7.8 px a character).
const (
	graphNodeMinW, graphNodeH = 120.0, 48.0
	graphCharW, graphTextX    = 8.0, 10.0
	graphGapX, graphGapY      = 56.0, 16.0
	graphPad                  = 8.0
)

// GraphBox is a node placed: its layer and row, and its box.
type GraphBox struct {
	GraphNode
	Layer, Row int
	X, Y, W, H float64
}

// GraphEdge is a dependency drawn: from the box of From to the box of To.
type GraphEdge struct {
	From, To string
	Path     string // an SVG path's d
}

// GraphLayout is a laid-out graph.
type GraphLayout struct {
	Boxes         []GraphBox
	Edges         []GraphEdge
	Width, Height float64
	Layers        int
}

// LayoutGraph places nodes: each in the layer after its deepest dependency, and in each layer
// in the order of the mean row of its dependencies (fewer crossings), then of nodes. A
// dependency on a node not given is left out; a cycle (the store refuses them) does not loop.
func LayoutGraph(nodes []GraphNode) GraphLayout {
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		index[n.Name] = i
	}
	layer := make([]int, len(nodes))
	const unknown, visiting = -1, -2
	for i := range layer {
		layer[i] = unknown
	}
	var depth func(i int) int
	depth = func(i int) int {
		switch layer[i] {
		case visiting:
			return 0
		case unknown:
		default:
			return layer[i]
		}
		layer[i] = visiting
		l := 0
		for _, d := range nodes[i].DependsOn {
			if j, ok := index[d]; ok {
				l = max(l, depth(j)+1)
			}
		}
		layer[i] = l
		return l
	}
	layers := 0
	for i := range nodes {
		layers = max(layers, depth(i)+1)
	}
	byLayer := make([][]int, layers)
	for i, l := range layer {
		byLayer[l] = append(byLayer[l], i)
	}
	row := make([]int, len(nodes))
	tallest := 0
	widths := make([]float64, layers)
	for i, l := range layer {
		b := GraphBox{GraphNode: nodes[i]}
		chars := max(utf8.RuneCountInString(b.Name), utf8.RuneCountInString(b.Status()))
		widths[l] = max(widths[l], graphNodeMinW, 2*graphTextX+graphCharW*float64(chars))
	}
	lefts := make([]float64, layers)
	x := graphPad
	for l, w := range widths {
		lefts[l], x = x, x+w+graphGapX
	}
	for _, members := range byLayer {
		mean := func(i int) float64 {
			sum, n := 0.0, 0
			for _, d := range nodes[i].DependsOn {
				if j, ok := index[d]; ok {
					sum, n = sum+float64(row[j]), n+1
				}
			}
			if n == 0 {
				return float64(i) // roots keep the given order
			}
			return sum / float64(n)
		}
		slices.SortStableFunc(members, func(a, b int) int {
			ma, mb := mean(a), mean(b)
			switch {
			case ma < mb:
				return -1
			case ma > mb:
				return 1
			}
			return a - b
		})
		for r, i := range members {
			row[i] = r
		}
		tallest = max(tallest, len(members))
	}
	g := GraphLayout{Layers: layers, Boxes: make([]GraphBox, len(nodes))}
	for i, n := range nodes {
		g.Boxes[i] = GraphBox{GraphNode: n, Layer: layer[i], Row: row[i],
			X: lefts[layer[i]], Y: graphPad + float64(row[i])*(graphNodeH+graphGapY), W: widths[layer[i]], H: graphNodeH}
	}
	for i, n := range nodes {
		to := g.Boxes[i]
		for _, d := range n.DependsOn {
			j, ok := index[d]
			if !ok {
				continue
			}
			from := g.Boxes[j]
			x1, y1, x2, y2 := from.X+from.W, from.Y+from.H/2, to.X, to.Y+to.H/2
			mid := (x1 + x2) / 2
			g.Edges = append(g.Edges, GraphEdge{From: d, To: n.Name,
				Path: fmt.Sprintf("M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f %.1f", x1, y1, mid, y1, mid, y2, x2, y2)})
		}
	}
	if layers > 0 {
		g.Width = x - graphGapX + graphPad
		g.Height = 2*graphPad + float64(tallest)*graphNodeH + float64(tallest-1)*graphGapY
	}
	return g
}

// ViewBox is the graph's viewBox.
func (g GraphLayout) ViewBox() string { return fmt.Sprintf("0 0 %.0f %.0f", g.Width, g.Height) }

// Status is the node's second line: its state, and its duration when it has one.
func (b GraphBox) Status() string {
	s := b.State
	if b.Counts != "" {
		s = b.Counts
	}
	if b.Duration == "" {
		return s
	}
	return s + " · " + b.Duration
}

// Label is the node's accessible name: the step, its state and duration, and what it waits for.
func (b GraphBox) Label() string {
	s := "Step " + b.Name + ": " + b.Status()
	if len(b.DependsOn) > 0 {
		s += ", after " + strings.Join(b.DependsOn, ", ")
	}
	return s
}
