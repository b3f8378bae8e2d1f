package components

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func layerOf(g GraphLayout) map[string]int {
	out := map[string]int{}
	for _, b := range g.Boxes {
		out[b.Name] = b.Layer
	}
	return out
}

// requireNoOverlap fails when two boxes share any area.
func requireNoOverlap(t *testing.T, g GraphLayout) {
	t.Helper()
	for i, a := range g.Boxes {
		require.GreaterOrEqual(t, a.X, 0.0)
		require.GreaterOrEqual(t, a.Y, 0.0)
		require.LessOrEqual(t, a.X+a.W, g.Width, "%s inside the graph", a.Name)
		require.LessOrEqual(t, a.Y+a.H, g.Height, "%s inside the graph", a.Name)
		for _, b := range g.Boxes[i+1:] {
			apart := a.X+a.W <= b.X || b.X+b.W <= a.X || a.Y+a.H <= b.Y || b.Y+b.H <= a.Y
			require.True(t, apart, "%s and %s overlap", a.Name, b.Name)
		}
	}
}

func TestLayoutGraphDiamond(t *testing.T) {
	g := LayoutGraph([]GraphNode{{Name: "a"}, {Name: "b", DependsOn: []string{"a"}}, {Name: "c", DependsOn: []string{"a"}},
		{Name: "d", DependsOn: []string{"b", "c"}}})
	require.Equal(t, map[string]int{"a": 0, "b": 1, "c": 1, "d": 2}, layerOf(g))
	require.Equal(t, 3, g.Layers)
	require.Len(t, g.Edges, 4)
	requireNoOverlap(t, g)
	require.Less(t, g.Boxes[0].X, g.Boxes[1].X, "left to right")
	require.Equal(t, g.Boxes[1].X, g.Boxes[2].X, "b and c in one layer")
	require.NotEqual(t, g.Boxes[1].Y, g.Boxes[2].Y, "stacked")
	for _, e := range g.Edges {
		require.Regexp(t, `^M[\d.]+ [\d.]+C`, e.Path)
	}
}

// A step's layer is its longest path from a root, not its shortest: d after a and after c
// (a, b, c) sits after c.
func TestLayoutGraphLongestPath(t *testing.T) {
	g := LayoutGraph([]GraphNode{{Name: "d", DependsOn: []string{"a", "c"}}, {Name: "a"}, {Name: "b", DependsOn: []string{"a"}},
		{Name: "c", DependsOn: []string{"b"}}, {Name: "lone"}})
	require.Equal(t, map[string]int{"a": 0, "b": 1, "c": 2, "d": 3, "lone": 0}, layerOf(g))
	requireNoOverlap(t, g)
}

// Many steps in one layer stack without overlapping; a missing dependency and a cycle neither
// crash nor loop.
func TestLayoutGraphWideAndOdd(t *testing.T) {
	nodes := []GraphNode{{Name: "root"}}
	for _, n := range []string{"s1", "s2", "s3", "s4", "s5", "s6"} {
		nodes = append(nodes, GraphNode{Name: n, DependsOn: []string{"root"}})
	}
	nodes = append(nodes, GraphNode{Name: "ghost", DependsOn: []string{"nope"}}, GraphNode{Name: "x", DependsOn: []string{"y"}},
		GraphNode{Name: "y", DependsOn: []string{"x"}})
	g := LayoutGraph(nodes)
	requireNoOverlap(t, g)
	require.Equal(t, 0, layerOf(g)["ghost"])
	require.Len(t, g.Boxes, len(nodes))
	require.Empty(t, LayoutGraph(nil).Boxes)
}

// A layer is as wide as its longest name, so that each node shows its whole name.
func TestLayoutGraphFitsNames(t *testing.T) {
	long := "reconcile-monthly-statements-for-enterprise-customers"
	g := LayoutGraph([]GraphNode{{Name: "a"}, {Name: long, DependsOn: []string{"a"}}, {Name: "b", DependsOn: []string{"a"}}, {Name: "c", DependsOn: []string{long}}})
	requireNoOverlap(t, g)
	require.Equal(t, graphNodeMinW, g.Boxes[0].W)
	require.GreaterOrEqual(t, g.Boxes[1].W, graphCharW*float64(len(long)))
	require.Equal(t, g.Boxes[1].W, g.Boxes[2].W, "one width a layer")
	require.Equal(t, g.Boxes[1].X+g.Boxes[1].W+graphGapX, g.Boxes[3].X)
}

func TestGraphBoxText(t *testing.T) {
	b := GraphBox{GraphNode: GraphNode{Name: "a-very-long-step-name-that-goes-on", State: "succeeded", Duration: "1.2 s", DependsOn: []string{"x", "y"}}}
	require.Equal(t, "succeeded · 1.2 s", b.Status())
	require.Equal(t, "Step a-very-long-step-name-that-goes-on: succeeded · 1.2 s, after x, y", b.Label())
	require.Equal(t, "awaiting", GraphBox{GraphNode: GraphNode{State: "awaiting"}}.Status())
}
