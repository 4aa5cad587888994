// Package dropin runs Keyward's controller in place of Bitnami's or the
// External Secrets Operator's, on clusters that have only their CRDs, as
// their own process under their RBAC and with their arguments.
package dropin

import (
	"os"
	"testing"

	testcluster "github.com/keyward/keyward/test/cluster"
)

// sealedSecretCRD is all of Bitnami's install that is an API.
const sealedSecretCRD = "bitnami.com_sealedsecrets.yaml"

// esoCRDs are deploy/crds' copies of the ESO kinds Keyward serves, installed
// while a controller runs; TestDropInForESO starts from ESO's own bundle.
var esoCRDs = []string{
	"external-secrets.io_clusterexternalsecrets.yaml", "external-secrets.io_clustersecretstores.yaml",
	"external-secrets.io_externalsecrets.yaml", "external-secrets.io_pushsecrets.yaml", "external-secrets.io_secretstores.yaml",
}

// cluster starts as a Bitnami install has it: the SealedSecret CRD alone.
var cluster *testcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(testcluster.Main(m, testcluster.Options{CRDFiles: []string{sealedSecretCRD}}, &cluster))
}
