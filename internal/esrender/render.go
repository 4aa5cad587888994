// Package esrender applies an ExternalSecret template (engine v2) to
// values: template.data, templateFrom (ConfigMap, Secret, literal) with its
// targets, metadata and mergePolicy. ExternalSecrets and PushSecrets share
// it. Errors name the template and position, never data; those a retry
// will not fix are marked with specerr.
package esrender

import (
	"context"
	"fmt"
	"maps"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/specerr"
	"github.com/keyward/keyward/internal/template"
)

// Result is what a template makes of the values.
type Result struct {
	Type        corev1.SecretType
	Data        map[string][]byte
	Labels      map[string]string
	Annotations map[string]string
	Finalizers  []string
}

// Render applies t to values. templateFrom ConfigMaps and Secrets are read
// from namespace through reader. A nil template keeps values as they are.
// Precedence, as ESO: template.data over templateFrom over values; values
// are kept only with mergePolicy Merge or when nothing renders data.
// Errors name fields under field, the template's path in the object that
// holds it: spec.target.template in an ExternalSecret, spec.template in a
// PushSecret.
func Render(ctx context.Context, reader client.Reader, namespace, field string, t *esv1.ExternalSecretTemplate, values map[string][]byte) (Result, error) {
	if t == nil {
		return Result{Data: values, Labels: map[string]string{}, Annotations: map[string]string{}}, nil
	}
	strs := make(map[string]string, len(values))
	for k, v := range values {
		strs[k] = string(v)
	}
	out := Result{Type: t.Type, Data: map[string][]byte{}, Labels: map[string]string{}, Annotations: map[string]string{}, Finalizers: t.Metadata.Finalizers}

	rendersData := len(t.Data) > 0
	for _, tf := range t.TemplateFrom {
		if tf.Target == "" || tf.Target == esv1.TemplateTargetData {
			rendersData = true
		}
	}
	if !rendersData || t.MergePolicy == esv1.MergePolicyMerge {
		maps.Copy(out.Data, values)
	}

	for k, v := range t.Metadata.Labels {
		r, err := renderOne(field+".metadata.labels["+k+"]", v, strs, false)
		if err != nil {
			return out, err
		}
		out.Labels[k] = string(r)
	}
	for k, v := range t.Metadata.Annotations {
		r, err := renderOne(field+".metadata.annotations["+k+"]", v, strs, false)
		if err != nil {
			return out, err
		}
		out.Annotations[k] = string(r)
	}

	for i, tf := range t.TemplateFrom {
		from := fmt.Sprintf("%s.templateFrom[%d]", field, i)
		pairs, err := renderFrom(ctx, reader, namespace, tf, strs, from)
		if err != nil {
			return out, err
		}
		switch tf.Target {
		case "", esv1.TemplateTargetData:
			for k, v := range pairs {
				out.Data[k] = []byte(v)
			}
		case esv1.TemplateTargetAnnotations:
			maps.Copy(out.Annotations, pairs)
		case esv1.TemplateTargetLabels:
			maps.Copy(out.Labels, pairs)
		default:
			return out, specerr.New("%s.target: %q is not one of Data, Annotations, Labels", from, tf.Target)
		}
	}

	keys := make([]string, 0, len(t.Data))
	for k := range t.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r, err := renderOne(field+".data["+k+"]", t.Data[k], strs, false)
		if err != nil {
			return out, err
		}
		out.Data[k] = r
	}
	return out, nil
}

// renderOne renders one template. Its errors name the template, the
// position and a fixed description, never data; secretText (a template
// read from a Secret) drops the parse reason too, since it quotes the text.
func renderOne(name, text string, data map[string]string, secretText bool) ([]byte, error) {
	opts := []template.Option{template.MissingKeyError()}
	if secretText {
		opts = append(opts, template.SecretText())
	}
	out, err := template.Render(name, text, data, opts...)
	if err != nil {
		return nil, specerr.Mark(err)
	}
	return out, nil
}

// renderFrom renders one templateFrom entry into key/value pairs.
func renderFrom(ctx context.Context, reader client.Reader, namespace string, tf esv1.TemplateFrom, data map[string]string, field string) (map[string]string, error) {
	if tf.Literal != nil {
		return keysAndValues(field+".literal", *tf.Literal, data, false)
	}
	var src map[string]string
	var ref *esv1.TemplateRef
	// Template text read from a Secret is itself secret.
	secretText := tf.Secret != nil
	switch {
	case tf.ConfigMap != nil:
		ref = tf.ConfigMap
		var cm corev1.ConfigMap
		if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &cm); err != nil {
			return nil, fmt.Errorf("%s.configMap: reading ConfigMap %s/%s: %w", field, namespace, ref.Name, err)
		}
		src = cm.Data
	case tf.Secret != nil:
		ref = tf.Secret
		var s corev1.Secret
		if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &s); err != nil {
			return nil, fmt.Errorf("%s.secret: reading Secret %s/%s: %w", field, namespace, ref.Name, err)
		}
		src = make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			src[k] = string(v)
		}
	default:
		return nil, specerr.New("%s: set one of configMap, secret or literal", field)
	}
	items := ref.Items
	if len(items) == 0 {
		for k := range src {
			items = append(items, esv1.TemplateRefItem{Key: k})
		}
		sort.Slice(items, func(i, j int) bool { return items[i].Key < items[j].Key })
	}
	out := map[string]string{}
	for _, it := range items {
		text, ok := src[it.Key]
		if !ok {
			return nil, specerr.New("%s: %s has no key %q", field, ref.Name, it.Key)
		}
		name := fmt.Sprintf("%s[%s]", field, it.Key)
		if it.TemplateAs == esv1.TemplateScopeKeysAndValues {
			pairs, err := keysAndValues(name, text, data, secretText)
			if err != nil {
				return nil, err
			}
			maps.Copy(out, pairs)
			continue
		}
		r, err := renderOne(name, text, data, secretText)
		if err != nil {
			return nil, err
		}
		out[it.Key] = string(r)
	}
	return out, nil
}

// keysAndValues renders text and reads the result as a YAML map.
func keysAndValues(name, text string, data map[string]string, secretText bool) (map[string]string, error) {
	r, err := renderOne(name, text, data, secretText)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(r, &m); err != nil {
		// The rendered text may hold secret values: name the template only.
		return nil, specerr.New("%s: the rendered text is not a YAML map of keys to values", name)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, err := yaml.Marshal(v)
		if err != nil {
			return nil, specerr.New("%s: the value of key %q cannot be written as YAML", name, k)
		}
		out[k] = string(b)
	}
	return out, nil
}
