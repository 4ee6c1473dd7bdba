// goprovider serves org.apache.dubbo.demo.DemoService 1.0.0 over dubbo:// (Hessian2) with
// dubbo-go, with the semantics of tether's demo_service() (tests/src/demo.rs) plus three
// methods of tether's suite_service() (tests/src/conformance.rs): sleep(long ms), log(String)
// (for one-way calls) and boom() (fails). It has no notify(int, Listener): dubbo-go has no
// parameter callbacks on dubbo://.
//
// usage: goprovider [-registry zookeeper://HOST:PORT [-registry-type interface|service|all]] PORT
//
// PORT 0 picks a free port. With -registry it also registers itself there (registry type
// as given, dubbo-go's default when empty), as a dubbo-go provider of an estate would.
//
// It sends every consumer a heartbeat every 500 ms. Prints "listening on 127.0.0.1:PORT" once
// a TCP connection to the port succeeds; exits
// when stdin closes, or when killed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/apache/dubbo-go-hessian2/java_exception"

	"dubbo.apache.org/dubbo-go/v3"
	"dubbo.apache.org/dubbo-go/v3/common/constant"
	_ "dubbo.apache.org/dubbo-go/v3/imports"
	dubbolog "dubbo.apache.org/dubbo-go/v3/logger"
	"dubbo.apache.org/dubbo-go/v3/protocol"
	"dubbo.apache.org/dubbo-go/v3/remoting/getty"
	"dubbo.apache.org/dubbo-go/v3/server"

	"tether.test/interop/go/peer"
)

// heartbeatPeriod is how often the provider sends each consumer a heartbeat.
const heartbeatPeriod = 500 * time.Millisecond

// DemoProvider implements the contract. dubbo-go serves each exported method under its name
// and with the first letter's case swapped (SayHello and sayHello). Arguments arrive as
// Hessian decoded them; reference types are taken as `any`, because dubbo-go hands a null
// argument to a method as a pointer to a zero value of the parameter's type (a `string`
// parameter would see "" for null).
type DemoProvider struct{}

// deref turns dubbo-go's stand-in for a null argument (a *any to nil) back into nil.
func deref(v any) any {
	if p, ok := v.(*any); ok {
		if p == nil {
			return nil
		}
		return *p
	}
	return v
}

func (DemoProvider) SayHello(_ context.Context, name string) (string, error) {
	return "Hello " + name, nil
}

func (DemoProvider) Ping(context.Context) (string, error) { return "pong", nil }

func (DemoProvider) EchoString(_ context.Context, s any) (any, error) { return deref(s), nil }

func (DemoProvider) EchoInt(_ context.Context, v int32) (int32, error) { return v, nil }

func (DemoProvider) EchoLong(_ context.Context, v int64) (int64, error) { return v, nil }

func (DemoProvider) EchoDouble(_ context.Context, v float64) (float64, error) { return v, nil }

func (DemoProvider) EchoBool(_ context.Context, v bool) (bool, error) { return v, nil }

func (DemoProvider) EchoList(_ context.Context, v any) (any, error) { return deref(v), nil }

func (DemoProvider) EchoMap(_ context.Context, v any) (any, error) { return deref(v), nil }

func (DemoProvider) EchoBytes(_ context.Context, v any) (any, error) { return deref(v), nil }

func (DemoProvider) EchoStringArray(_ context.Context, v any) (any, error) { return deref(v), nil }

func (DemoProvider) EchoIntArray(_ context.Context, v any) (any, error) { return deref(v), nil }

// EchoUser takes the POJO typed, as a dubbo-go service would: then a generic call's map
// argument is made into a User and the User returned as a map. (A null argument arrives as a
// zero User: dubbo-go cannot hand a null to a typed parameter.)
func (DemoProvider) EchoUser(_ context.Context, u *peer.User) (*peer.User, error) { return u, nil }

// Join is Java's s + ":" + i + ":" + b, where a null s prints as "null".
func (DemoProvider) Join(_ context.Context, s any, i int32, b bool) (string, error) {
	str, ok := deref(s).(string)
	if !ok {
		str = "null"
	}
	return fmt.Sprintf("%s:%d:%t", str, i, b), nil
}

// GetAttachment returns the request attachment key as a string, null if absent.
func (DemoProvider) GetAttachment(ctx context.Context, key any) (any, error) {
	k, _ := deref(key).(string)
	attachments, _ := ctx.Value(constant.AttachmentKey).(map[string]any)
	switch v := attachments[k].(type) {
	case string:
		return v, nil
	case []string: // how dubbo-go keeps some attachments
		if len(v) > 0 {
			return v[0], nil
		}
	case int32, int64, bool:
		return fmt.Sprint(v), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	}
	return nil, nil
}

// ThrowException always throws new RuntimeException(msg).
func (DemoProvider) ThrowException(_ context.Context, msg any) (string, error) {
	m, _ := deref(msg).(string)
	return "", java_exception.NewRuntimeException(m)
}

// Sleep returns ms after sleeping ms milliseconds.
func (DemoProvider) Sleep(_ context.Context, ms int64) (int64, error) {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms, nil
}

// Log takes one-way calls (a reply, were one asked for, would be null).
func (DemoProvider) Log(_ context.Context, _ any) error { return nil }

// ThreadName names the provider, as the suite provider's threadName() names its thread: a
// consumer with several providers counts which answered.
func (DemoProvider) ThreadName(context.Context) (string, error) { return "goprovider", nil }

// Boom panics; dubbo-go answers with the panic as an exception.
func (DemoProvider) Boom(context.Context) (string, error) { panic("boom") }

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goprovider: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	registryAddress := flag.String("registry", "",
		"also register in this registry (zookeeper://HOST:PORT)")
	registryType := flag.String("registry-type", "",
		"with -registry: interface, service or all; empty for dubbo-go's default")
	flag.Parse()
	if flag.NArg() != 1 {
		fail("usage: goprovider [-registry zookeeper://HOST:PORT [-registry-type interface|service|all]] " +
			"PORT (0 = a free port)")
	}
	port, err := strconv.Atoi(flag.Arg(0))
	if err != nil || port < 0 || port > 65535 {
		fail("bad port %q", flag.Arg(0))
	}
	if port == 0 {
		// dubbo-go takes port 0 as "unset" and falls back to its default.
		port = freePort()
	}

	options := []dubbo.InstanceOption{
		dubbo.WithName("tether-interop-goprovider"),
		// Local metadata would export a MetadataService on ":PORT", which then collides
		// with this service's listener on "127.0.0.1:PORT" (bind: address already in use).
		// With a registry, remote metadata goes to the registry's ZooKeeper.
		dubbo.WithRemoteMetadata(),
		dubbo.WithLogger(dubbolog.WithLevel("warn")),
		dubbo.WithProtocol(protocol.WithDubbo(), protocol.WithIp("127.0.0.1"), protocol.WithPort(port)),
	}
	if *registryAddress != "" {
		registryOption, err := peer.Registry(*registryAddress, *registryType)
		if err != nil {
			fail("%v", err)
		}
		options = append(options, registryOption)
	}
	ins, err := dubbo.NewInstance(options...)
	if err != nil {
		fail("dubbo.NewInstance: %v", err)
	}
	peer.InstallLogger()
	// Heartbeats to every consumer every 500 ms (getty's default is 60 s), so that the
	// consumers' answers are exercised within a short test.
	conf := getty.GetDefaultServerConfig()
	conf.HeartbeatPeriod = heartbeatPeriod.String()
	getty.SetServerConfig(*conf)
	srv, err := ins.NewServer()
	if err != nil {
		fail("NewServer: %v", err)
	}
	if err := srv.Register(&DemoProvider{}, nil,
		server.WithInterface(peer.Service), server.WithVersion(peer.Version)); err != nil {
		fail("Register: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case err := <-served:
			fail("Serve: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			fail("%s not accepting connections after 30 s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("listening on %s\n", addr)

	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stdinClosed:
	case err := <-served:
		fail("Serve returned: %v", err)
	}
}
