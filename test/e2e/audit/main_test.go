// Package audit holds end-to-end tests of `keyward audit` against a real
// kube-apiserver. There is no shared cluster: each test starts its own, as
// the API server flags it needs (an audit policy, encryption at rest) differ.
package audit
