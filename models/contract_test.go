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

// contract.go matches the code: the exported methods declared on *Store and on each domain
// store (outside test files) are exactly those of its interface, less what they all share from
// conn (Shared). A method only tests call belongs in export_test.go or models/modeltest.
func TestStorageIsEveryStoreMethod(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	require.NoError(t, err)
	declared := map[string][]string{} // receiver type -> exported methods
	for _, f := range pkgs["models"].Files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() {
				continue
			}
			recv := fn.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); ok {
				declared[id.Name] = append(declared[id.Name], fn.Name.Name)
			}
		}
	}
	shared := declared["conn"]
	for typ, iface := range map[string]reflect.Type{
		"Store":          reflect.TypeFor[models.Storage](),
		"jobStore":       reflect.TypeFor[models.JobStore](),
		"jobQueries":     reflect.TypeFor[models.JobQueries](),
		"kindStore":      reflect.TypeFor[models.KindLimitStore](),
		"recurringStore": reflect.TypeFor[models.RecurringStore](),
		"serverStore":    reflect.TypeFor[models.ServerStore](),
		"queueStore":     reflect.TypeFor[models.QueueStore](),
		"taskStore":      reflect.TypeFor[models.TaskStore](),
		"userStore":      reflect.TypeFor[models.UserStore](),
		"sessionStore":   reflect.TypeFor[models.SessionStore](),
		"tokenStore":     reflect.TypeFor[models.TokenStore](),
		"secretStore":    reflect.TypeFor[models.SecretStore](),
		"settingStore":   reflect.TypeFor[models.SettingStore](),
		"channelStore":   reflect.TypeFor[models.ChannelStore](),
		"ruleStore":      reflect.TypeFor[models.RuleStore](),
		"auditStore":     reflect.TypeFor[models.AuditStore](),
	} {
		var contract []string
		for i := range iface.NumMethod() {
			if name := iface.Method(i).Name; !slices.Contains(shared, name) {
				contract = append(contract, name)
			}
		}
		got := declared[typ]
		slices.Sort(got)
		require.Equal(t, contract, got, "the exported methods of %s and the %s interface differ", typ, iface.Name())
		require.LessOrEqual(t, len(got), 25, "%s is a domain store of at most about 25 methods", typ)
	}
}
