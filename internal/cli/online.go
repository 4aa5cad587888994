package cli

import (
	"context"
	"encoding/json"
	"fmt"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/sealing"
)

// The kubeseal modes that ask the controller: --validate and --re-encrypt.
// Both take every SealedSecret on the input (kubeseal handled only the first).

func readSealedSecretDocs(s Streams, f *sealFlags) ([]sealing.Document, error) {
	in, done, err := openInput(s, f.input)
	if err != nil {
		return nil, err
	}
	defer done()
	return sealing.ReadSealedSecretDocuments(in)
}

func runValidate(ctx context.Context, s Streams, getenv func(string) string, f *sealFlags) error {
	docs, err := readSealedSecretDocs(s, f)
	if err != nil {
		return err
	}
	client, err := f.controller.client(getenv, f.kubeconfig, f.context)
	if err != nil {
		return fmt.Errorf("--validate: %w", err)
	}
	var failed int
	for _, d := range docs {
		if err := client.Verify(ctx, d.JSON); err != nil {
			failed++
			fmt.Fprintf(s.Err, "unable to decrypt sealed secret: %s: %v\n", d.Name, err)
		}
	}
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d SealedSecrets do not open", failed, len(docs))}
	}
	return nil
}

// runReencryptOnline re-seals through the controller's /v1/rotate. With -f
// and no -w the input file is rewritten in place, as kubeseal does. Output
// is written only when every document succeeded.
func runReencryptOnline(ctx context.Context, s Streams, getenv func(string) string, f *sealFlags) error {
	format, err := sealing.ParseFormat(f.format)
	if err != nil {
		return err
	}
	docs, err := readSealedSecretDocs(s, f)
	if err != nil {
		return err
	}
	client, err := f.controller.client(getenv, f.kubeconfig, f.context)
	if err != nil {
		return fmt.Errorf("--re-encrypt: %w", err)
	}
	out := make([]any, 0, len(docs))
	for _, d := range docs {
		body, err := client.Rotate(ctx, d.JSON)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		var ss ssv1.SealedSecret
		if err := json.Unmarshal(body, &ss); err != nil {
			return fmt.Errorf("%s: the controller answered with something that is not a SealedSecret", d)
		}
		out = append(out, &ss)
	}
	target := f.output
	if target == "" && f.input != "" {
		target = f.input
	}
	if target != "" {
		format = sealing.FormatForFile(target, format)
	}
	b, err := sealing.Encode(format, out...)
	if err != nil {
		return err
	}
	return writeOutput(s, target, b, publicFile)
}
