package alerts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// credentialURLTypes are the channel types whose URL is itself the credential: anyone holding
// a Slack, Discord, Mattermost or Teams incoming-webhook URL can post with it.
var credentialURLTypes = []string{models.ChannelSlack, models.ChannelDiscord, models.ChannelMattermost, models.ChannelTeams}

// Sealer seals a secret for the store to write (package secrets' Vault). When Config.Secrets
// is one, Save moves a chat webhook's URL typed raw into the vault.
type Sealer interface {
	Seal(name, value, by string) (models.SecretRow, error)
}

// urlSecretPrefix and urlSecretSuffix frame the name of the secret a channel's URL is moved
// into: ALERT_CHANNEL_<NAME>_URL.
const (
	urlSecretPrefix = "ALERT_CHANNEL_"
	urlSecretSuffix = "_URL"
	maxSecretName   = 64 // models.ValidSecretName's
)

// urlSecretName is the n-th (from 1) name the secret of channel's URL may take: its name
// upper-cased, anything but A-Z, 0-9 and _ made _, cut to fit a secret's 64 characters; from
// the second on, _2, _3... tell apart channels whose names map to the same one (ops.x, ops-x).
func urlSecretName(channel string, n int) string {
	base := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, strings.ToUpper(channel))
	var tell string
	if n > 1 {
		tell = fmt.Sprintf("_%d", n)
	}
	if room := maxSecretName - len(urlSecretPrefix) - len(tell) - len(urlSecretSuffix); len(base) > room {
		base = base[:room]
	}
	return urlSecretPrefix + base + tell + urlSecretSuffix
}

// secretRef is the reference to the named secret.
func secretRef(name string) string { return "${secret:" + name + "}" }

// movesURL tells whether saving ch moves its URL into the vault: a chat webhook's URL typed
// raw. A URL that refers to a secret already is kept as typed (its secret part is in the
// vault; a reference inside a secret's value would not be filled in).
func movesURL(ch *models.Channel) bool {
	return slices.Contains(credentialURLTypes, ch.Type) && ch.Settings.URL != "" && !strings.Contains(ch.Settings.URL, "${secret:")
}

// sealURL seals ch's URL under the first of its names that no other channel refers to, with
// ch's URL made the reference to it. ch has been checked.
func (s *Sender) sealURL(ctx context.Context, ch *models.Channel, by string) (models.SecretRow, error) {
	sealer, ok := s.cfg.Secrets.(Sealer)
	if !ok {
		return models.SecretRow{}, &models.Error{Code: models.EINVALID, Message: "The channel was not saved.", Fields: map[string]string{
			"url": "A " + ch.Type + " webhook URL is itself a secret, and this server keeps no secrets to hold it."}}
	}
	list, err := s.store.ListChannels(ctx)
	if err != nil {
		return models.SecretRow{}, err
	}
	taken, own := map[string]bool{}, ""
	for _, other := range list {
		if other.Name != ch.Name {
			taken[other.Settings.URL] = true
		} else {
			own = other.Settings.URL
		}
	}
	// A name is this channel's to use when it already holds it, or when no other channel
	// refers to it and the vault has no secret of that name (one set by hand, for something else).
	free := func(name string) (bool, error) {
		if own == secretRef(name) {
			return true, nil
		}
		if taken[secretRef(name)] {
			return false, nil
		}
		_, err := s.cfg.Secrets.Reveal(ctx, name)
		if errors.Is(err, builtin.ErrSecretNotFound) {
			return true, nil
		}
		return false, err
	}
	name := urlSecretName(ch.Name, 1)
	for n := 2; ; n++ {
		ok, err := free(name)
		if err != nil {
			return models.SecretRow{}, fmt.Errorf("alerts: look for secret %s: %w", name, err)
		}
		if ok {
			break
		}
		name = urlSecretName(ch.Name, n)
	}
	row, err := sealer.Seal(name, ch.Settings.URL, by)
	if fields := models.FieldErrors(err); fields != nil {
		return models.SecretRow{}, &models.Error{Code: models.EINVALID, Message: "The channel was not saved.", Fields: map[string]string{
			"url": "The URL can't be kept as a secret: " + strings.Join(slices.Sorted(maps.Values(fields)), " ")}}
	}
	if err != nil {
		return models.SecretRow{}, err
	}
	ch.Settings.URL = secretRef(name)
	return row, nil
}

// RedactURL is a channel's URL as people who may not hold its credentials see it: a
// reference to a secret as it is; a chat webhook's URL typed raw (saved before such URLs
// were moved into the vault) without its path; any other URL with its user, password, query
// and fragment replaced by "…", where tokens ride.
func RedactURL(typ, u string) string {
	if u == "" || secretOnlyRE.MatchString(u) {
		return u
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "…"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, tail := rest[:end], rest[end:]
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = "…@" + host[at+1:]
	}
	out := scheme + "://" + host
	if slices.Contains(credentialURLTypes, typ) {
		if strings.Trim(tail, "/") != "" {
			out += "/…"
		}
		return out
	}
	cut := strings.IndexAny(tail, "?#")
	if cut < 0 {
		return out + tail
	}
	out += tail[:cut]
	query, fragment, hasFragment := strings.Cut(tail[cut:], "#")
	if len(query) > 1 {
		out += "?…"
	}
	if hasFragment && fragment != "" {
		out += "#…"
	}
	return out
}

// urlInTextRE finds the URLs in a message: an error quotes the URL it failed to post to.
var urlInTextRE = regexp.MustCompile(`(?i)https?://[^\s"'<>]+`)

// RedactURLs is text (a channel's last error) with each URL in it redacted as RedactURL does
// for a channel of type typ.
func RedactURLs(typ, text string) string {
	return urlInTextRE.ReplaceAllStringFunc(text, func(u string) string {
		// Punctuation after a URL ("post to URL: ...") is the sentence's.
		trimmed := strings.TrimRight(u, ".,:;)")
		return RedactURL(typ, trimmed) + u[len(trimmed):]
	})
}
