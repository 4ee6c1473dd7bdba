// Package peer holds what the dubbo-go interop peers share: the demo-service contract's
// names and POJO, a typed null for arguments, and a logger that keeps dubbo-go's output off
// stdout (stdout carries the peers' protocol with the Rust tests) and counts heartbeats.
package peer

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync/atomic"

	gettylog "github.com/apache/dubbo-getty"
	hessian "github.com/apache/dubbo-go-hessian2"
	gostlog "github.com/dubbogo/gost/log/logger"

	"dubbo.apache.org/dubbo-go/v3"
	dubbolog "dubbo.apache.org/dubbo-go/v3/logger"
	"dubbo.apache.org/dubbo-go/v3/registry"
)

// Service and Version name the demo-service contract (tests/src/demo.rs).
const (
	Service = "org.apache.dubbo.demo.DemoService"
	Version = "1.0.0"
)

// User is org.apache.dubbo.demo.User{String name; int age}, fields in that order.
type User struct {
	Name string `hessian:"name"`
	Age  int32  `hessian:"age"`
}

// JavaClassName is the Java class the POJO is sent as. A pointer receiver: dubbo-go asks a
// nil *User for its class too (the descriptor of a null argument).
func (*User) JavaClassName() string { return "org.apache.dubbo.demo.User" }

// typedClass is the serializer key of Typed; it never reaches the wire.
const typedClass = "tether.interop.Typed"

// Typed is an argument sent as Value with the parameter descriptor of the Java type Type
// (for example "java.lang.String" or "java.lang.Object"). dubbo-go derives descriptors from
// Go values: a nil argument gets "V" (void), which no Java method has, so a null must carry
// its type; and no Go value gives java.lang.Object.
type Typed struct {
	Type  string
	Value any
}

// Null is a null argument of the Java type javaType.
func Null(javaType string) Typed { return Typed{Type: javaType} }

// JavaClassName is the key of the serializer that writes Typed as its Value.
func (*Typed) JavaClassName() string { return typedClass }

// JavaParamName is the parameter type dubbo-go puts in the request's descriptor.
func (t *Typed) JavaParamName() string { return t.Type }

type typedSerializer struct{}

func (typedSerializer) EncObject(e *hessian.Encoder, p hessian.POJO) error {
	return e.Encode(p.(*Typed).Value)
}

func (typedSerializer) DecObject(*hessian.Decoder, reflect.Type, *hessian.ClassInfo) (any, error) {
	return nil, fmt.Errorf("%s is never decoded", typedClass)
}

func init() {
	hessian.RegisterPOJO(&User{})
	hessian.SetSerializer(typedClass, typedSerializer{})
}

// Heartbeat counters, fed by the logger from dubbo-go's own log lines.
var (
	HeartbeatResponses atomic.Int64 // "getty client received a heartbeat response"
	HeartbeatFailures  atomic.Int64 // "failed to send heartbeat"
	HeartbeatRequests  atomic.Int64 // "getty client gets a heartbeat request" (then answers it)
)

// Logger writes dubbo-go's warnings and errors to stderr (everything with GOPEER_VERBOSE
// set) and counts heartbeat outcomes.
type Logger struct{ verbose bool }

func (l *Logger) out(level, msg string) {
	if strings.Contains(msg, "failed to send heartbeat") {
		HeartbeatFailures.Add(1)
	}
	fmt.Fprintf(os.Stderr, "dubbo-go %s %s\n", level, msg)
}

func (l *Logger) Info(args ...any) {
	if l.verbose {
		l.out("INFO", fmt.Sprint(args...))
	}
}

func (l *Logger) Infof(f string, args ...any) {
	if l.verbose {
		l.out("INFO", fmt.Sprintf(f, args...))
	}
}

func (l *Logger) Debug(args ...any) {
	if l.verbose {
		l.out("DEBUG", fmt.Sprint(args...))
	}
}

func (l *Logger) Debugf(f string, args ...any) {
	switch {
	case strings.Contains(f, "received a heartbeat response"):
		HeartbeatResponses.Add(1)
	case strings.Contains(f, "gets a heartbeat request"):
		HeartbeatRequests.Add(1)
	}
	if l.verbose {
		l.out("DEBUG", fmt.Sprintf(f, args...))
	}
}

func (l *Logger) Warn(args ...any)             { l.out("WARN", fmt.Sprint(args...)) }
func (l *Logger) Warnf(f string, args ...any)  { l.out("WARN", fmt.Sprintf(f, args...)) }
func (l *Logger) Error(args ...any)            { l.out("ERROR", fmt.Sprint(args...)) }
func (l *Logger) Errorf(f string, args ...any) { l.out("ERROR", fmt.Sprintf(f, args...)) }
func (l *Logger) Fatal(args ...any)            { l.out("FATAL", fmt.Sprint(args...)); os.Exit(2) }
func (l *Logger) Fatalf(f string, args ...any) { l.out("FATAL", fmt.Sprintf(f, args...)); os.Exit(2) }

// InstallLogger routes the logs of dubbo-go, gost and getty through Logger. Call it after
// dubbo.NewInstance, which installs its own.
func InstallLogger() {
	l := &Logger{verbose: os.Getenv("GOPEER_VERBOSE") != ""}
	gostlog.SetLogger(l)
	dubbolog.SetLogger(l)
	gettylog.SetLogger(l)
}

// RegistryTypes are the values -registry-type takes: "" leaves dubbo-go's default (in
// v3.3.2 a registry without a type is used for application-level service discovery only),
// the others pick registry.WithRegisterInterface, WithRegisterService or
// WithRegisterServiceAndInterface.
var RegistryTypes = []string{"", "interface", "service", "all"}

// Registry is the instance option for the registry at address (for example
// zookeeper://127.0.0.1:2181) with registry type kind (one of RegistryTypes), every other
// setting dubbo-go's default.
func Registry(address, kind string) (dubbo.InstanceOption, error) {
	opts := []registry.Option{registry.WithAddress(address)}
	switch kind {
	case "":
	case "interface":
		opts = append(opts, registry.WithRegisterInterface())
	case "service":
		opts = append(opts, registry.WithRegisterService())
	case "all":
		opts = append(opts, registry.WithRegisterServiceAndInterface())
	default:
		return nil, fmt.Errorf("registry type %q is none of %q", kind, RegistryTypes)
	}
	return dubbo.WithRegistry(opts...), nil
}
