// pause: the process that holds a node's network namespace in the docker provider.
//
// Each node runs two containers: this one (the "sandbox", which owns the IP address, the
// network alias and the iptables rules the nemesis inserts) and the database server, which
// joins the sandbox's namespace (network_mode container:<sandbox>). Killing and restarting
// the server therefore keeps its address and any partition in force, exactly as with the
// netns provider, where the namespace outlives the process. Same role as Kubernetes'
// registry.k8s.io/pause image; built here because no registry is reachable.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
