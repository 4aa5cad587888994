package pushsecret

import (
	"strings"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
)

func TestDataToRewrite(t *testing.T) {
	values := map[string][]byte{"db-user": []byte("u"), "db-pass": []byte("p"), "other": []byte("o")}
	dt := esv1alpha1.PushSecretDataTo{
		Match:   &esv1alpha1.PushSecretDataToMatch{RegExp: "^db-"},
		Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^db-", Target: "app-"}}},
	}
	got, err := dataTo(values, dt, "spec.dataTo[0]")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Match.RemoteRef.RemoteKey+"="+string(e.value))
	}
	if strings.Join(keys, ",") != "app-pass=p,app-user=u" {
		t.Errorf("entries %v", keys)
	}

	dt.Rewrite = append(dt.Rewrite, esv1.ExternalSecretRewrite{Transform: &esv1.ExternalSecretRewriteTransform{Template: "{{ .value }}"}})
	if _, err := dataTo(values, dt, "spec.dataTo[0]"); err == nil || err.Error() != "spec.dataTo[0].rewrite[1]: only regexp rewrites are supported for dataTo" {
		t.Errorf("a transform rule in dataTo: %v", err)
	}
	dt.Rewrite = []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "("}}}
	if _, err := dataTo(values, dt, "spec.dataTo[0]"); err == nil || !strings.HasPrefix(err.Error(), "spec.dataTo[0].rewrite[0].regexp.source: ") {
		t.Errorf("a bad regexp in dataTo: %v", err)
	}
}
