package tollgate

import (
	"context"
	"errors"
	"log/slog"
)

// NewLogObserver returns an [Observer] that writes events to l:
//
//   - accepts, cache hits and misses, successful fetches and introspections
//     at [slog.LevelDebug];
//   - rejects at [slog.LevelInfo] (a bad token is the caller's problem), and
//     at [slog.LevelWarn] when the cause is [ErrUnavailable];
//   - failed key fetches, skipped keys and failed introspections at
//     [slog.LevelWarn];
//   - introspection credentials refused by the authorization server at
//     [slog.LevelError], since that is a configuration error that breaks every
//     opaque token.
//
// Each call first asks the handler whether the level is enabled, so an
// observer left on at a higher level costs almost nothing. Records never
// contain a token or a secret.
func NewLogObserver(l *slog.Logger) Observer {
	if l == nil {
		l = slog.Default()
	}
	log := func(ctx context.Context, level slog.Level, msg string, attrs func() []slog.Attr) {
		if l.Enabled(ctx, level) {
			l.LogAttrs(ctx, level, msg, attrs()...)
		}
	}
	return Observer{
		OnAccept: func(ctx context.Context, e AcceptEvent) {
			log(ctx, slog.LevelDebug, "tollgate: accepted", func() []slog.Attr {
				return []slog.Attr{
					slog.String("sub", e.Principal.Subject()),
					slog.String("client_id", e.Principal.ClientID()),
					slog.String("kind", e.Principal.Kind().String()),
					slog.Duration("duration", e.Duration),
				}
			})
		},
		OnReject: func(ctx context.Context, e RejectEvent) {
			level := slog.LevelInfo
			if e.Err != nil && errors.Is(e.Err.Kind, ErrUnavailable) {
				level = slog.LevelWarn
			}
			log(ctx, level, "tollgate: rejected", func() []slog.Attr {
				attrs := []slog.Attr{slog.Duration("duration", e.Duration)}
				if e.Err != nil {
					attrs = append(attrs, slog.String("kind", kindName(e.Err.Kind)),
						slog.String("check", e.Err.Check), slog.String("error", e.Err.Error()))
				}
				return attrs
			})
		},
		OnKeyFetch: func(ctx context.Context, e KeyFetchEvent) {
			log(ctx, slog.LevelDebug, "tollgate: keys fetched", func() []slog.Attr {
				return []slog.Attr{
					slog.String("url", e.URL), slog.Bool("forced", e.Forced), slog.Int("keys", e.Keys),
					slog.Any("added", e.Added), slog.Any("removed", e.Removed), slog.Duration("duration", e.Duration),
				}
			})
		},
		OnKeyFetchFailure: func(ctx context.Context, e KeyFetchEvent) {
			log(ctx, slog.LevelWarn, "tollgate: key fetch failed", func() []slog.Attr {
				return []slog.Attr{
					slog.String("url", e.URL), slog.Bool("forced", e.Forced), slog.Int("status", e.Status),
					slog.Duration("duration", e.Duration), errAttr(e.Err),
				}
			})
		},
		OnKeySkipped: func(ctx context.Context, e KeySkippedEvent) {
			log(ctx, slog.LevelWarn, "tollgate: key skipped", func() []slog.Attr {
				return []slog.Attr{slog.String("url", e.URL), slog.String("kid", e.KeyID), slog.String("reason", e.Reason)}
			})
		},
		OnIntrospect: func(ctx context.Context, e IntrospectEvent) {
			log(ctx, slog.LevelDebug, "tollgate: introspected", func() []slog.Attr {
				return []slog.Attr{
					slog.String("endpoint", e.Endpoint), slog.Int("status", e.Status), slog.Bool("active", e.Active),
					slog.Duration("duration", e.Duration),
				}
			})
		},
		OnIntrospectFailure: func(ctx context.Context, e IntrospectEvent) {
			level, msg := slog.LevelWarn, "tollgate: introspection failed"
			if e.CredentialsRejected {
				level, msg = slog.LevelError, "tollgate: introspection credentials rejected by the authorization server"
			}
			log(ctx, level, msg, func() []slog.Attr {
				return []slog.Attr{
					slog.String("endpoint", e.Endpoint), slog.Int("status", e.Status),
					slog.Duration("duration", e.Duration), errAttr(e.Err),
				}
			})
		},
		OnCacheHit: func(ctx context.Context, e CacheEvent) {
			log(ctx, slog.LevelDebug, "tollgate: cache hit", func() []slog.Attr {
				return []slog.Attr{slog.String("cache", e.Cache), slog.Bool("negative", e.Negative)}
			})
		},
		OnCacheMiss: func(ctx context.Context, e CacheEvent) {
			log(ctx, slog.LevelDebug, "tollgate: cache miss", func() []slog.Attr {
				return []slog.Attr{slog.String("cache", e.Cache), slog.Bool("coalesced", e.Coalesced)}
			})
		},
	}
}

func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("error", err.Error())
}

// kindName returns the RFC 6750-style name of a sentinel, for logs and metrics.
func kindName(kind error) string {
	switch kind {
	case ErrNoToken:
		return "no_token"
	case ErrInvalidRequest:
		return "invalid_request"
	case ErrExpired:
		return "expired"
	case ErrInvalidToken:
		return "invalid_token"
	case ErrInsufficientScope:
		return "insufficient_scope"
	case ErrUnavailable:
		return "unavailable"
	}
	return "unknown"
}
