# Sourced by the builders of Kubernetes binaries (hack/kubetools for the
# control plane, hack/nodetools for the node): the release both build from
# hack/kubetools' module, and the linker flags that stamp it into the
# binaries as the release's own build does (kubectl version, the Node's
# kubeletVersion).
k8s_version=v1.37.2
k8s_minor=${k8s_version#v1.}; k8s_minor=${k8s_minor%%.*}
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
	kube_ldflags+=" -X $pkg.gitTreeState=clean"
done
