package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/hashicorp/vault/api"
)

// login obtains a token from an auth method.
type login func(ctx context.Context) (*api.SecretAuth, error)

// authenticator is how a store gets its token: a fixed one, or a login.
type authenticator struct {
	// static is a token given by the store (tokenSecretRef); never renewed
	// nor revoked by us, since its owner manages its life.
	static string
	login  login
	// method names the auth method in errors, for example "appRole".
	method string
}

const (
	// revokeTimeout bounds the revocation on Close; Vault being down must
	// not hold up the Manager.
	revokeTimeout = 5 * time.Second
	// retryMin and retryMax space out renewals and logins that failed.
	retryMin = time.Second
	retryMax = time.Minute
)

// session holds one store's Vault token: obtained once, renewed at two
// thirds of its TTL, replaced by a new login when renewal fails or when
// Vault no longer honours it, and revoked on close.
type session struct {
	store string
	api   *api.Client
	auth  authenticator
	now   func() time.Time
	log   logr.Logger

	loginMu sync.Mutex // one login at a time; guards closed
	closed  bool

	mu        sync.Mutex // guards the token's state below
	token     string
	ttl       time.Duration // as granted by the last login or renewal; 0 = never expires
	issued    time.Time
	renewable bool
	loginTTL  time.Duration // what the auth method grants, asked for on renewal
	failures  int           // failed refreshes in a row

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func newSession(store string, c *api.Client, a authenticator, now func() time.Time, log logr.Logger) *session {
	return &session{store: store, api: c, auth: a, now: now, log: log, wake: make(chan struct{}, 1)}
}

// start obtains the first token and starts the renewer.
func (s *session) start(ctx context.Context) error {
	if s.auth.login == nil {
		s.token = s.auth.static
		s.api.SetToken(s.token)
		return nil
	}
	if err := s.loginNow(ctx); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.renew(rctx)
	return nil
}

// loginNow logs in and installs the new token. The token it replaces is
// left to expire: revoking it could fail requests still in flight with it.
func (s *session) loginNow(ctx context.Context) error {
	auth, err := s.auth.login(ctx)
	if err != nil {
		return fmt.Errorf("%s.auth.%s: logging in: %w", field, s.auth.method, err)
	}
	if auth == nil || auth.ClientToken == "" {
		return fmt.Errorf("%s.auth.%s: logging in: Vault returned no token", field, s.auth.method)
	}
	ttl := time.Duration(auth.LeaseDuration) * time.Second
	s.mu.Lock()
	s.token, s.ttl, s.loginTTL, s.renewable, s.issued = auth.ClientToken, ttl, ttl, auth.Renewable, s.now()
	s.failures = 0
	s.api.SetToken(auth.ClientToken)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// relogin replaces stale with a fresh token, unless another caller already did.
func (s *session) relogin(ctx context.Context, stale string) error {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	if s.closed {
		// A token made now would never be revoked.
		return errors.New("the store's Vault client is closed")
	}
	if s.currentToken() != stale {
		return nil
	}
	s.log.Info("Vault no longer honours the store's token; logging in again")
	return s.loginNow(ctx)
}

func (s *session) currentToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// nextRefresh is when the token should be renewed or replaced: at two
// thirds of its TTL, or sooner after failures (zero: never).
func (s *session) nextRefresh() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ttl <= 0 {
		return time.Time{}
	}
	at := s.issued.Add(s.ttl * 2 / 3)
	if s.failures > 0 {
		backoff := min(retryMin<<min(s.failures-1, 6), retryMax)
		at = s.now().Add(backoff)
		if exp := s.issued.Add(s.ttl); at.After(exp) && exp.After(s.now()) {
			at = exp
		}
	}
	return at
}

// renew keeps the token alive until ctx ends.
func (s *session) renew(ctx context.Context) {
	defer close(s.done)
	for {
		var timer <-chan time.Time
		t := time.NewTimer(time.Hour)
		t.Stop()
		if at := s.nextRefresh(); !at.IsZero() {
			t.Reset(max(at.Sub(s.now()), 0))
			timer = t.C
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			t.Stop()
			continue
		case <-timer:
		}
		if err := s.refresh(ctx); err != nil && ctx.Err() == nil {
			s.mu.Lock()
			s.failures++
			s.mu.Unlock()
			s.log.Error(vaultError(err), "refreshing the store's Vault token failed; retrying")
		}
	}
}

// refresh renews the token, or logs in again when it cannot be renewed or
// renewal would leave it too short a life (its max TTL is near).
func (s *session) refresh(ctx context.Context) error {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	s.mu.Lock()
	renewable, want := s.renewable, s.loginTTL
	s.mu.Unlock()
	if renewable {
		sec, err := s.api.Auth().Token().RenewSelfWithContext(ctx, int(want/time.Second))
		if err == nil && sec != nil && sec.Auth != nil {
			ttl := time.Duration(sec.Auth.LeaseDuration) * time.Second
			if ttl >= want/3 {
				s.mu.Lock()
				s.ttl, s.issued, s.renewable, s.failures = ttl, s.now(), sec.Auth.Renewable, 0
				s.mu.Unlock()
				return nil
			}
		}
	}
	return s.loginNow(ctx)
}

// do runs f with the session's client. When Vault answers 403 and the
// token itself is what it refuses (revoked, expired, or Vault restarted
// with new storage), it logs in again and runs f once more. A 403 from a
// policy that denies the path is returned as it is.
func (s *session) do(ctx context.Context, f func(*api.Client) error) error {
	tok := s.currentToken()
	err := f(s.api)
	if err == nil || s.auth.login == nil || !isForbidden(err) {
		return err
	}
	if s.currentToken() == tok {
		_, lerr := s.api.Auth().Token().LookupSelfWithContext(ctx)
		if lerr == nil || !isForbidden(lerr) {
			return err
		}
		if rerr := s.relogin(ctx, tok); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return f(s.api)
}

// close stops the renewer and revokes a token the session logged in for.
func (s *session) close() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
	defer cancel()
	// RevokeSelf ignores its argument and revokes the client's own token.
	if err := s.api.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
		s.log.Error(vaultError(err), "revoking the store's Vault token failed; it will expire by itself")
	}
	s.api.ClearToken()
}

func isForbidden(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}
