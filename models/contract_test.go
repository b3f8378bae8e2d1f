package models_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// contract.go matches the code: every exported method of *Store (outside test files) is in
// Storage, and Storage has nothing *Store does not export. A method only tests call belongs in
// export_test.go or models/modeltest, not on *Store.
func TestStorageIsEveryStoreMethod(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	require.NoError(t, err)
	var exported []string
	for _, f := range pkgs["models"].Files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := star.X.(*ast.Ident); ok && id.Name == "Store" {
					exported = append(exported, fn.Name.Name)
				}
			}
		}
	}
	storage := reflect.TypeFor[models.Storage]()
	var contract []string
	for i := range storage.NumMethod() {
		contract = append(contract, storage.Method(i).Name)
	}
	slices.Sort(exported)
	require.Equal(t, contract, exported, "*Store's exported methods and the Storage interface differ")
}
