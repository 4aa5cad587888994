// Package version reports what build of keyward is running.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time by the Makefile (-X); the build info fills them otherwise.
var (
	version = ""
	commit  = ""
)

// Info describes one build.
type Info struct {
	Version   string
	Commit    string
	GoVersion string
}

// Get returns the running binary's build information.
func Get() Info {
	info := Info{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Commit == "" {
				info.Commit = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

func (i Info) String() string {
	return fmt.Sprintf("keyward %s (commit %s, %s)", i.Version, i.Commit, i.GoVersion)
}
