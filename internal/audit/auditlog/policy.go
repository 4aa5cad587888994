// Package auditlog reads Kubernetes API server audit logs and reports who
// read which Secret, set against what the access analysis says each reader
// may read. It also writes the audit Policy that makes the API server record
// those events without ever recording a request or response body.
//
// Nothing here prints; the CLI turns the Result into tables or JSON.
package auditlog

// policy records every request on Secrets, and on the subresources that reach
// a Secret's value without a get (exec or attach into a Pod that mounts one,
// minting a ServiceAccount's token), at Metadata level: who, what, when and
// the response code, never a body. Metadata is the highest level a Secret may
// be logged at; Request or RequestResponse would copy its data into the log.
//
// Events from system components (controllers, kubelets, the API server
// itself) are kept: they are few on Secrets, and a report groups them apart.
// Impersonated requests need no rule: every event names the impersonated
// user next to the real one. Everything else is level None so the log stays
// small; the RequestReceived stage is omitted as it only doubles each event.
const policy = `# Audit policy written by 'keyward audit policy'.
# Records who touches Secrets, at Metadata level only: never a request or
# response body, so no Secret value reaches the log. Read the log with
# 'keyward audit log FILE...'.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - RequestReceived
rules:
  - level: Metadata
    resources:
      - group: ""
        resources:
          - secrets
          - pods/exec
          - pods/attach
          - serviceaccounts/token
  - level: None
`

// Policy returns the audit.k8s.io/v1 Policy, as YAML, that the API server's
// --audit-policy-file takes.
func Policy() string { return policy }
