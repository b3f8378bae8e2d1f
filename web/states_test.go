package web_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// The API's job states, in the OpenAPI document's enums, are the store's: a state added to one
// (skipped) is in the others.
func TestAPIJobStatesAreTheStores(t *testing.T) {
	var want []string
	for _, s := range models.JobStates {
		want = append(want, string(s))
	}
	slices.Sort(want)
	for _, f := range []reflect.StructField{field(t, reflect.TypeFor[api.Job](), "State"), field(t, reflect.TypeFor[web.ListJobsInput](), "State")} {
		got := strings.Split(f.Tag.Get("enum"), ",")
		slices.Sort(got)
		require.Equal(t, want, got, "the enum of %s", f.Name)
	}
}

func field(t *testing.T, typ reflect.Type, name string) reflect.StructField {
	t.Helper()
	f, ok := typ.FieldByName(name)
	require.True(t, ok, "%s has no field %s", typ, name)
	return f
}
