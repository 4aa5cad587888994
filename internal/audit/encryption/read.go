package encryption

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Stored is one Secret as etcd holds it.
type Stored struct {
	Namespace, Name string
	State
}

// ReadOptions narrow and pace the read.
type ReadOptions struct {
	// Prefix is the API server's --etcd-prefix ("/registry" when empty).
	Prefix string
	// Namespace limits the read to one namespace ("" reads all).
	Namespace string
	// PageSize is how many keys one range request returns (500 when 0).
	// Secrets can be large, so pages stay small enough for etcd's
	// request size limit.
	PageSize int64
	// Progress, when set, is told how many Secrets were read so far.
	Progress func(done int)
}

// SecretsPrefix is where the API server keeps the Secrets of namespace ("" is
// every namespace) under its etcd prefix.
func SecretsPrefix(prefix, namespace string) string {
	if prefix == "" {
		prefix = "/registry"
	}
	p := strings.TrimSuffix(prefix, "/") + "/secrets/"
	if namespace != "" {
		p += namespace + "/"
	}
	return p
}

// Read classifies every Secret under the prefix, page by page at one
// revision, so a large cluster neither fills memory nor sees a moving
// target. Values are classified and dropped as each page arrives.
func Read(ctx context.Context, kv clientv3.KV, o ReadOptions) ([]Stored, error) {
	base := SecretsPrefix(o.Prefix, o.Namespace)
	page := o.PageSize
	if page <= 0 {
		page = 500
	}
	end := clientv3.GetPrefixRangeEnd(base)
	key := base
	var rev int64
	out := []Stored{}
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(page), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := kv.Get(ctx, key, opts...)
		if err != nil {
			return nil, fmt.Errorf("reading %s from etcd: %w", base, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, item := range resp.Kvs {
			ns, name, ok := splitKey(string(item.Key), SecretsPrefix(o.Prefix, ""))
			if !ok {
				// Not a Secret's key (a stray key under the prefix):
				// named, since keys hold no values.
				return nil, fmt.Errorf("etcd key %q under %s is not namespace/name", item.Key, base)
			}
			out = append(out, Stored{Namespace: ns, Name: name, State: Classify(item.Value)})
		}
		if o.Progress != nil {
			o.Progress(len(out))
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return out, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func splitKey(key, base string) (ns, name string, ok bool) {
	rest, found := strings.CutPrefix(key, base)
	if !found {
		return "", "", false
	}
	ns, name, found = strings.Cut(rest, "/")
	return ns, name, found && ns != "" && name != "" && !strings.Contains(name, "/")
}

// Dial connects to etcd and checks that at least one endpoint answers, so an
// unreachable or misconfigured etcd fails here with its endpoint named
// rather than as a timeout in the middle of the read.
func Dial(ctx context.Context, cfg clientv3.Config) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("no etcd endpoint given")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		// The client logs its retries itself; the error returned says
		// what failed.
		cfg.Logger = zap.NewNop()
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	var errs []string
	for _, ep := range cfg.Endpoints {
		sctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
		_, err := c.Status(sctx, ep)
		cancel()
		if err == nil {
			return c, nil
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s (is it etcd's client URL, and are the TLS files right?): %w", cfg.DialTimeout, err)
		}
		errs = append(errs, fmt.Sprintf("etcd endpoint %s: %v", ep, err))
	}
	c.Close()
	return nil, errors.New(strings.Join(errs, "; "))
}
