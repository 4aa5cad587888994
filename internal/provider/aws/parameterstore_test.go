package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/test/providertest"
)

func seedSSM(t *testing.T) *ssm.Client {
	t.Helper()
	return ssm.NewFromConfig(seedConfig())
}

func putParameter(t *testing.T, c *ssm.Client, name, value string, tags map[string]string) {
	t.Helper()
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString}
	for k, v := range tags {
		in.Tags = append(in.Tags, ssmtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if len(tags) == 0 {
		in.Overwrite = aws.Bool(true)
	}
	if _, err := c.PutParameter(context.Background(), in); err != nil {
		t.Fatalf("seeding %s: %v", name, err)
	}
}

func psClient(t *testing.T, p *esv1.AWSProvider) *ParameterStore {
	t.Helper()
	p.Service = "ParameterStore"
	c, err := New().NewClient(context.Background(), store(p), newKube(), "app")
	if err != nil {
		t.Fatal(err)
	}
	return c.(*ParameterStore)
}

func TestParameterStoreRead(t *testing.T) {
	moto.Reset(t)
	s := seedSSM(t)
	putParameter(t, s, "/aura/production/postgres", `{"db-uri":"postgresql://one"}`, nil)
	putParameter(t, s, "/aura/production/postgres", `{"db-uri":"postgresql://two"}`, nil)
	putParameter(t, s, "/plain", "text", map[string]string{"team": "payments"})
	c := psClient(t, &esv1.AWSProvider{})
	ctx := context.Background()
	for _, tc := range []struct {
		name, key, version, prop, want string
		notFound, notJSON              bool
	}{
		{name: "latest", key: "/aura/production/postgres", prop: "db-uri", want: "postgresql://two"},
		{name: "version 1", key: "/aura/production/postgres", version: "1", prop: "db-uri", want: "postgresql://one"},
		{name: "whole value", key: "/plain", want: "text"},
		{name: "missing", key: "/nope", notFound: true},
		{name: "missing version", key: "/plain", version: "9", notFound: true},
		{name: "not JSON", key: "/plain", prop: "x", notJSON: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			providertest.Read(ctx, t, c, tc.key, tc.version, tc.prop, providertest.Expect{Value: tc.want, NotFound: tc.notFound, Err: tc.notJSON, ErrText: "not JSON"})
		})
	}
	md, err := c.ReadMetadata(ctx, "/plain")
	if v, _ := md.Property("team"); err != nil || string(v) != "payments" {
		t.Fatalf("metadata %q %v", md.Value, err)
	}
	t.Run("throttling", func(t *testing.T) {
		moto.Throttle("AmazonSSM.GetParameter", 1)
		if _, err := c.Read(ctx, "/plain", ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		moto.Fail("AmazonSSM.GetParameter", 1, 400, "AccessDeniedException", "not authorized to perform: ssm:GetParameter")
		if _, err := c.Read(ctx, "/plain", ""); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParameterStoreFind(t *testing.T) {
	moto.Reset(t)
	s := seedSSM(t)
	for i := range 25 {
		env := "prod"
		if i%5 == 0 {
			env = "dev"
		}
		putParameter(t, s, fmt.Sprintf("/app/%s/p%02d", env, i), fmt.Sprint(i), map[string]string{"env": env})
	}
	putParameter(t, s, "/other/x", "x", map[string]string{"env": "prod"})
	c := psClient(t, &esv1.AWSProvider{})
	ctx := context.Background()
	path := "/app"

	before := moto.Count("AmazonSSM.GetParametersByPath")
	byPath, err := c.Find(ctx, esv1.ExternalSecretFind{Path: &path})
	if err != nil || len(byPath) != 25 || string(byPath["/app/prod/p24"].Value) != "24" {
		t.Fatalf("by path: %d, %v", len(byPath), err)
	}
	if n := moto.Count("AmazonSSM.GetParametersByPath") - before; n < 3 {
		t.Fatalf("GetParametersByPath calls = %d, want at least 3 pages of 10", n)
	}
	byTag, err := c.Find(ctx, esv1.ExternalSecretFind{Tags: map[string]string{"env": "dev"}})
	if err != nil || len(byTag) != 5 {
		t.Fatalf("by tag: %v, %v", keys(byTag), err)
	}
	byName, err := c.Find(ctx, esv1.ExternalSecretFind{Path: &path, Name: &esv1.FindName{RegExp: `p1\d$`}})
	if err != nil || len(byName) != 10 {
		t.Fatalf("by path and name: %v, %v", keys(byName), err)
	}
	byTagName, err := c.Find(ctx, esv1.ExternalSecretFind{Tags: map[string]string{"env": "prod"}, Name: &esv1.FindName{RegExp: `^/other/`}})
	if err != nil || len(byTagName) != 1 {
		t.Fatalf("by tag and name: %v, %v", keys(byTagName), err)
	}
}

func TestParameterStorePush(t *testing.T) {
	moto.Reset(t)
	putParameter(t, seedSSM(t), "/foreign", "x", map[string]string{"owner": "ops"})
	c := psClient(t, &esv1.AWSProvider{Prefix: "/keyward"})
	ctx := context.Background()
	if err := c.Write(ctx, "/pushed", "", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, "/pushed", "", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Read(ctx, "/pushed", ""); err != nil || string(got.Value) != "v2" {
		t.Fatalf("pushed: %q %v", got.Value, err)
	}
	if err := c.Write(ctx, "/json", "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, "/json", "b", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "/json", "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Read(ctx, "/json", ""); string(got.Value) != `{"b":"2"}` {
		t.Fatalf("json: %q", got.Value)
	}
	root := psClient(t, &esv1.AWSProvider{})
	if err := root.Write(ctx, "/foreign", "", []byte("mine")); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("overwrote a foreign parameter: %v", err)
	}
	if err := c.Delete(ctx, "/pushed", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, "/pushed", ""); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
