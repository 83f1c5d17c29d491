// Command nexus runs the Nexus gateway: an OpenAI-compatible endpoint in
// front of many LLM inference backends.
//
//	nexus serve -c nexus.toml   run the gateway from a config file
//	nexus backends|models|health  ask a running gateway (--url, --json)
//	nexus completions bash      print a shell completion script
//	nexus demo                  run it with built-in simulated backends
//	nexus config init           write an annotated example config
//	nexus version               print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is the release this binary was built from.
const version = "0.1.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// run executes the command line args; it is main without the process
// globals, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	root := newRootCommand(stdout, stderr, env)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
