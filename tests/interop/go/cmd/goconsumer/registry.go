package main

import (
	"fmt"
	"os"
	"time"

	"dubbo.apache.org/dubbo-go/v3"
	"dubbo.apache.org/dubbo-go/v3/client"
	dubbolog "dubbo.apache.org/dubbo-go/v3/logger"

	"tether.test/interop/go/peer"
)

// registryMain is the registry mode: no provider address, only the registry. It dials
// peer.Service 1.0.0 through the registry and retries sayHello until a provider answers
// (dubbo-go learns the providers after Dial returns) or findWithin passes, then makes
// `calls` more sayHello calls and `threadNames` threadName calls. Prints "RESULT <reply>"
// per answered sayHello, "THREAD <reply>" per answered threadName (goprovider answers
// "goprovider", tether's suite provider its thread's name), the usual
// PASS/FAIL lines and summary; exits 1 if any case failed (the calls are not tried when
// no provider answered).
//
// With mixedWithin > 0 it then keeps calling threadName (printing "THREAD <reply>" each
// time) until both goprovider and another provider (tether's, which answers with a thread's
// name) have answered, or mixedWithin has passed (case registry.mixed fails). dubbo-go
// answers the first call as soon as any provider list arrived, while with registry type
// `all` the other level's list may come later: a fixed number of calls could all be made
// before both were known.
func registryMain(address, kind string, calls, threadNames int, findWithin, mixedWithin time.Duration) {
	registryOption, err := peer.Registry(address, kind)
	if err != nil {
		fail("%v", err)
	}
	started := time.Now()
	ins, err = dubbo.NewInstance(
		dubbo.WithName("tether-interop-goconsumer"),
		dubbo.WithLogger(dubbolog.WithLevel("warn")),
		registryOption,
	)
	if err != nil {
		fail("dubbo.NewInstance: %v", err)
	}
	peer.InstallLogger()
	fmt.Printf("NOTE registry %s, registry type %q (\"\" = dubbo-go's default)\n", address, kind)

	run("registry.dial", func() error {
		cli, err := ins.NewClient(client.WithClientProtocolDubbo(),
			client.WithClientRequestTimeout(5*time.Second))
		if err != nil {
			return fmt.Errorf("NewClient: %v", err)
		}
		conn, err = cli.Dial(peer.Service, client.WithVersion(peer.Version))
		if err != nil {
			return fmt.Errorf("Dial: %v", err)
		}
		return nil
	})
	found := false
	if conn != nil {
		run("registry.found", func() error {
			deadline := time.Now().Add(findWithin)
			tries := 0
			for {
				tries++
				var got string
				err := call(ctx(), "sayHello", &got, "found")
				if err == nil && got == "Hello found" {
					fmt.Printf("NOTE first answer %v after start, try %d\n",
						time.Since(started).Round(time.Millisecond), tries)
					found = true
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("no provider answered within %v (%d tries); last: %q, %v",
						findWithin, tries, got, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
	if found {
		for i := range calls {
			run(fmt.Sprintf("registry.sayHello.%d", i), func() error {
				var got string
				name := fmt.Sprintf("go-registry %d", i)
				if err := call(ctx(), "sayHello", &got, name); err != nil {
					return err
				}
				if got != "Hello "+name {
					return fmt.Errorf("got %q", got)
				}
				fmt.Printf("RESULT %s\n", got)
				return nil
			})
		}
		for i := range threadNames {
			run(fmt.Sprintf("registry.threadName.%d", i), func() error {
				var got string
				if err := call(ctx(), "threadName", &got); err != nil {
					return err
				}
				fmt.Printf("THREAD %s\n", got)
				return nil
			})
		}
		if mixedWithin > 0 {
			run("registry.mixed", func() error { return untilMixed(mixedWithin) })
		}
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// untilMixed calls threadName until goprovider and some other provider have both answered,
// pausing mixedPause between calls so that a list still on its way has time to arrive; it
// fails once within has passed without both, or on the first failed call.
func untilMixed(within time.Duration) error {
	const mixedPause = 10 * time.Millisecond
	deadline := time.Now().Add(within)
	byGo, byOther := 0, 0
	for {
		var got string
		if err := call(ctx(), "threadName", &got); err != nil {
			return fmt.Errorf("threadName after %d answers: %v", byGo+byOther, err)
		}
		fmt.Printf("THREAD %s\n", got)
		if got == "goprovider" {
			byGo++
		} else {
			byOther++
		}
		if byGo > 0 && byOther > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("within %v: %d answers by goprovider, %d by others", within, byGo, byOther)
		}
		time.Sleep(mixedPause)
	}
}
