package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// tokenCommand manages the API tokens programs send as "Authorization: Bearer <token>".
func (e *cliEnv) tokenCommand() *ffcli.Command {
	var (
		db, name, role, user string
		expires              time.Duration
		makeDB               bool
	)
	create := e.leaf("create", "kiln token create --name NAME --role viewer|operator|admin [--user NAME] [--expires 720h] [--db PATH]",
		"make an API token; prints only the token, once\n\nPrograms send the token as \"Authorization: Bearer <token>\". A viewer token reads; an operator\ntoken also retries, cancels and pauses; an admin token does everything, as those roles do on\nthe dashboard.\n\nA token belongs to the user --user names (required once the database has users): its role is\nat most theirs, it never does more than their current role allows, and it goes with them.", true,
		func(fs *flag.FlagSet) {
			storeFlags(fs, &db, &makeDB)
			fs.StringVar(&name, "name", "", "the token's `name`, to list and revoke it by")
			fs.StringVar(&role, "role", "", "the token's `role`: viewer (reads), operator (also retries, cancels, pauses; runs no code) or admin (everything)")
			fs.StringVar(&user, "user", "", "the `name` of the user the token belongs to (required once the database has users)")
			fs.DurationVar(&expires, "expires", 0, "the token's lifetime; 0 means until revoked")
		}, func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			if name == "" || role == "" {
				return fmt.Errorf("%w: give --name and --role (viewer, operator or admin)", errUsage)
			}
			store, err := e.openStore(ctx, db, makeDB)
			if err != nil {
				return err
			}
			defer store.Close()
			if user == "" {
				users, err := store.Users.ListUsers(ctx)
				if err != nil {
					return err
				}
				if len(users) > 0 {
					names := make([]string, len(users))
					for i, u := range users {
						names[i] = u.Username
					}
					return fmt.Errorf("%w: give --user, the user the token belongs to (one of: %s)", errUsage, strings.Join(names, ", "))
				}
			}
			token, _, err := store.Tokens.CreateAPIToken(cliAudit(ctx, "kiln token create", "token "+name), name, role, expires, "kiln token create", user)
			if err != nil {
				return errors.New(userError(err))
			}
			fmt.Fprintln(e.out, token) // only the token: scripts read it as is
			return nil
		})
	list := e.leaf("list", "kiln token list [--db PATH]", "list the tokens (never their values)", true, func(fs *flag.FlagSet) { storeFlags(fs, &db, &makeDB) },
		func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			store, err := e.openStore(ctx, db, makeDB)
			if err != nil {
				return err
			}
			defer store.Close()
			tokens, err := store.Tokens.ListAPITokens(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tUSER\tCREATED\tEXPIRES\tLAST USED")
			for _, t := range tokens {
				owner := t.Owner
				if t.UserID == nil {
					owner = "(made before owners)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, owner, stamp(&t.CreatedAt, ""), stamp(t.ExpiresAt, "never"), stamp(t.LastUsedAt, "never"))
			}
			return tw.Flush()
		})
	revoke := e.leaf("revoke", "kiln token revoke NAME [--db PATH]", "revoke a token: it stops working at once, on every node", true, func(fs *flag.FlagSet) { storeFlags(fs, &db, &makeDB) },
		func(ctx context.Context, pos []string) error {
			token, err := oneName(pos, "token")
			if err != nil {
				return err
			}
			store, err := e.openStore(ctx, db, makeDB)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := store.Tokens.RevokeAPIToken(cliAudit(ctx, "kiln token revoke", "token "+token), token); err != nil {
				return errors.New(userError(err))
			}
			fmt.Fprintf(e.out, "Revoked %s.\n", token)
			return nil
		})
	return e.group("token", "kiln token create|list|revoke ...", "manage API tokens", create, list, revoke)
}

func stamp(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04 MST")
}
