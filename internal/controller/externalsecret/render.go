package externalsecret

import (
	"context"
	"maps"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/esrender"
)

// lastApplied is kubectl's bookkeeping, never copied onto the Secret.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// render is what the ExternalSecret wants on its Secret: its template
// applied to the fetched values or, without a template, the values with
// the ExternalSecret's own labels and annotations.
func render(ctx context.Context, reader client.Reader, es *esv1.ExternalSecret, values map[string][]byte) (esrender.Result, error) {
	out, err := esrender.Render(ctx, reader, es.Namespace, "spec.target.template", es.Spec.Target.Template, values)
	if err != nil || es.Spec.Target.Template != nil {
		return out, err
	}
	maps.Copy(out.Labels, es.Labels)
	maps.Copy(out.Annotations, es.Annotations)
	delete(out.Annotations, lastApplied)
	return out, nil
}
