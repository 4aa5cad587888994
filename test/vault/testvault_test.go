package testvault

import (
	"context"
	"testing"
)

func TestServerCountsRequestsAndRestartsEmpty(t *testing.T) {
	ctx := context.Background()
	s := Start(t, Options{})
	if _, err := s.Client.KVv2("secret").Put(ctx, "app", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	mark := s.AuditMark()
	for range 2 {
		if _, err := s.Client.KVv2("secret").Get(ctx, "app"); err != nil {
			t.Fatal(err)
		}
	}
	reqs, err := s.Requests(mark)
	if err != nil {
		t.Fatal(err)
	}
	if got := Count(reqs); got["read secret/data/app"] != 2 || len(reqs) != 2 {
		t.Fatalf("audited requests = %v; want the two reads", got)
	}

	addr := s.Addr
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Addr != addr {
		t.Errorf("restarted at %s; want %s", s.Addr, addr)
	}
	if _, err := s.Client.KVv2("secret").Get(ctx, "app"); err == nil {
		t.Error("the secret survived a restart; dev storage should be empty")
	}
	if all, _ := s.Requests(0); len(all) <= 2 {
		t.Errorf("the audit device did not log after the restart: %d requests", len(all))
	}
}
