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

// esoCRDs are the kinds of ESO's install that Keyward serves.
var esoCRDs = []string{
	"external-secrets.io_clusterexternalsecrets.yaml", "external-secrets.io_clustersecretstores.yaml",
	"external-secrets.io_externalsecrets.yaml", "external-secrets.io_pushsecrets.yaml", "external-secrets.io_secretstores.yaml",
}

// cluster starts as a Bitnami install has it: the SealedSecret CRD alone.
var cluster *testcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(testcluster.Main(m, testcluster.Options{CRDFiles: []string{sealedSecretCRD}}, &cluster))
}
