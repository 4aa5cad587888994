package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/webui"
)

type serveUIFlags struct {
	certFlags
	listen string
	export string
}

func newServeUICommand(s Streams, getenv func(string) string) *cobra.Command {
	var f serveUIFlags
	cmd := &cobra.Command{
		Use:   "serve-ui",
		Short: "Serve the page that seals Secrets in the browser",
		Long: `Serve-ui serves the sealing page on this machine: a form that seals a
Secret in the browser with the certificate, so values never leave the page.
The controller serves the same page at / of its API (reach it through
kubectl proxy). --export writes the page as static files instead; with
--cert the certificate goes next to it, otherwise the page asks for one.`,
		Example: `  keyward serve-ui --cert pub-cert.pem
  keyward serve-ui --export ./sealer --cert pub-cert.pem`,
		Args: cobra.NoArgs,
		RunE: withEnv(getenv, func(cmd *cobra.Command, _ []string) error {
			return runServeUI(cmd.Context(), s, getenv, &f)
		}),
	}
	f.certFlags.register(cmd.Flags())
	cmd.Flags().StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve on (keep it local: browsers only give WebCrypto to https or localhost pages)")
	cmd.Flags().StringVar(&f.export, "export", "", "write the page to this directory instead of serving it")
	return cmd
}

func runServeUI(ctx context.Context, s Streams, getenv func(string) string, f *serveUIFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var certPEM []byte
	if f.export == "" || f.cert != "" {
		b, where, err := f.certPEM(ctx, getenv)
		if err != nil {
			return err
		}
		_, pub, err := keys.ParseCert(b, time.Now())
		if err != nil {
			return fmt.Errorf("certificate %s: %w", where, err)
		}
		certPEM = b
		fmt.Fprintf(s.Err, "certificate %s, fingerprint %s\n", where, keys.Fingerprint(pub))
	}
	if f.export != "" {
		if err := webui.Export(f.export, certPEM); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "wrote the sealing page to %s: serve it from any static server (https or localhost)\n", f.export)
		return nil
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/cert.pem", webui.CertHandler(certPEM))
	mux.Handle("/", webui.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(s.Out, "serving the sealing page at http://%s/\n", ln.Addr())
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving the page: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the server: %w", err)
	}
	return nil
}
