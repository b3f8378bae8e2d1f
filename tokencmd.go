package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/kilnhq/kiln/models"
)

const tokenUsage = `Usage:
  kiln token create --name NAME --role admin|viewer [--expires 720h]
                                  make an API token; prints only the token, once
  kiln token list                 list the tokens (never their values)
  kiln token revoke NAME          revoke a token: it stops working at once, on every node

Programs send the token as "Authorization: Bearer <token>". A viewer token reads; an admin
token reads and changes, as those roles do on the dashboard.

Flags:
  --db PATH    the database, as for kiln (env KILN_DB, default data/kiln.db)
`

// runTokenCommand runs "kiln token ..." and returns the exit code.
func runTokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, tokenUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb, rest := args[0], args[1:]
	if verb != "create" && verb != "list" && verb != "revoke" {
		fmt.Fprintf(stderr, "kiln token: unknown command %q\n\n%s", verb, tokenUsage)
		return 2
	}
	fs := flag.NewFlagSet("kiln token "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	db := fs.String("db", defaultDB, "database")
	name := fs.String("name", "", "the token's name")
	role := fs.String("role", "", "admin or viewer")
	expires := fs.Duration("expires", 0, "lifetime; 0 means until revoked")
	var positional string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		positional, rest = rest[0], rest[1:]
	}
	if err := ff.Parse(fs, rest, ff.WithEnvVarPrefix(envPrefix), ff.WithIgnoreUndefined(true)); err != nil {
		fmt.Fprintf(stderr, "kiln token %s: %v\n\n%s", verb, err, tokenUsage)
		return 2
	}
	if positional == "" && fs.NArg() > 0 {
		positional = fs.Arg(0)
	}
	switch {
	case verb == "create" && (*name == "" || *role == ""):
		fmt.Fprintf(stderr, "kiln token create: give --name and --role (admin or viewer)\n\n%s", tokenUsage)
		return 2
	case verb == "revoke" && positional == "":
		fmt.Fprintf(stderr, "kiln token revoke: give the token's name\n\n%s", tokenUsage)
		return 2
	}
	store, err := models.Open(ctx, *db, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(stderr, "kiln token:", err)
		return 1
	}
	defer store.Close()
	switch verb {
	case "create":
		token, _, err := store.CreateAPIToken(ctx, *name, *role, *expires, "kiln token create")
		if err != nil {
			fmt.Fprintln(stderr, "kiln token create:", userError(err))
			return 1
		}
		fmt.Fprintln(stdout, token) // only the token: scripts read it as is
		return 0
	case "list":
		tokens, err := store.ListAPITokens(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "kiln token list:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tEXPIRES\tLAST USED")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, stamp(&t.CreatedAt, ""), stamp(t.ExpiresAt, "never"), stamp(t.LastUsedAt, "never"))
		}
		_ = tw.Flush()
		return 0
	default: // revoke
		if err := store.RevokeAPIToken(ctx, positional); err != nil {
			fmt.Fprintln(stderr, "kiln token revoke:", userError(err))
			return 1
		}
		fmt.Fprintf(stdout, "Revoked %s.\n", positional)
		return 0
	}
}

func stamp(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04 MST")
}
