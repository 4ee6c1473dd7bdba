// goconsumer runs dubbo-go (dubbo://, Hessian2, a direct URL, no registry) against a
// provider of org.apache.dubbo.demo.DemoService 1.0.0 as tether's conformance suite serves
// it (tests/src/demo.rs demo_service() plus suite_service()'s sleep, log, boom, repeat).
//
// usage: goconsumer HOST PORT
//
//	goconsumer -registry zookeeper://HOST:PORT [-registry-type interface|service|all]
//	    [-calls N] [-thread-names N] [-find-within DURATION] [-mixed-within DURATION]
//
// The second form (registry.go) finds the provider through the registry alone and only
// calls sayHello.
//
// Prints "PASS name" or "FAIL name: reason" per case, "NOTE ..." lines (what dubbo-go cannot
// do, how many heartbeat requests from the provider it answered), and finally "N passed, M failed"; exits 1 if any case failed. A case listed in
// knownDifferences (a difference of tether's found by these cases, not yet mended) prints
// "XFAIL name: reason [known difference: ...]" and counts neither way while it fails; once
// it passes it prints "XPASS name" and counts as failed, until it is taken off the list.
//
// The one-way case sends OnewayLogs calls of log(String); the caller checks that the
// provider counted them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	hessian "github.com/apache/dubbo-go-hessian2"
	perrors "github.com/pkg/errors"

	"dubbo.apache.org/dubbo-go/v3"
	"dubbo.apache.org/dubbo-go/v3/client"
	"dubbo.apache.org/dubbo-go/v3/common"
	"dubbo.apache.org/dubbo-go/v3/common/constant"
	_ "dubbo.apache.org/dubbo-go/v3/imports"
	dubbolog "dubbo.apache.org/dubbo-go/v3/logger"
	dubboproto "dubbo.apache.org/dubbo-go/v3/protocol/dubbo"
	"dubbo.apache.org/dubbo-go/v3/protocol/dubbo/hessian2"
	"dubbo.apache.org/dubbo-go/v3/remoting"
	"dubbo.apache.org/dubbo-go/v3/remoting/getty"

	"tether.test/interop/go/peer"
)

// OnewayLogs is how many one-way log(String) calls the one-way case sends.
const OnewayLogs = 5

// heartbeatPeriod is the getty client's heartbeat period for every connection here (the
// default is 30 s): short, so that an idle connection exchanges some in 2.5 s, and longer
// than the heartbeat period of the provider in tests/tests/interop_go.rs (300 ms), so that
// the provider's heartbeats, which it sends only on a quiet connection, are answered too.
const heartbeatPeriod = time.Second

var (
	ins  *dubbo.Instance
	conn *client.Connection
	url  string
	addr string

	passed, failed, xfailed int
)

// knownDifferences are cases that fail because of tether (not of dubbo-go), by case name,
// with what is wrong: take a case off once tether is mended.
var knownDifferences = map[string]string{}

func run(name string, f func() error) {
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		return f()
	}()
	known, isKnown := knownDifferences[name]
	switch {
	case err != nil && isKnown:
		xfailed++
		fmt.Printf("XFAIL %s: %s [known difference: %s]\n", name, oneLine(err), known)
	case err != nil:
		failed++
		fmt.Printf("FAIL %s: %s\n", name, oneLine(err))
	case isKnown:
		failed++
		fmt.Printf("XPASS %s: the known difference is gone; take it off knownDifferences\n", name)
	default:
		passed++
		fmt.Printf("PASS %s\n", name)
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " | ") }

func ctx() context.Context { return context.Background() }

// withAttachments is how dubbo-go's new API sends attachments: a map in the context.
func withAttachments(m map[string]any) context.Context {
	return context.WithValue(context.Background(), constant.AttachmentKey, m)
}

// call makes a synchronous call, the reply decoded into reply (a pointer).
func call(c context.Context, method string, reply any, args ...any) error {
	return conn.CallUnary(c, args, reply, method)
}

// expect calls method(args) and compares the reply, decoded into a new T, with want.
func expect[T any](name, method string, want T, args ...any) {
	run(name, func() error {
		got := new(T)
		if err := call(ctx(), method, got, args...); err != nil {
			return fmt.Errorf("error: %v", err)
		}
		if !reflect.DeepEqual(*got, want) {
			return fmt.Errorf("got %s, want %s", show(*got), show(want))
		}
		return nil
	})
}

// expectNull calls method(args) and expects the null reply. dubbo-go has no way to hand a
// null to the caller but to leave the reply as it was: a sentinel must stay untouched.
func expectNull(name, method string, args ...any) {
	run(name, func() error {
		const sentinel = "\x00untouched"
		var got any = sentinel
		if err := call(ctx(), method, &got, args...); err != nil {
			return fmt.Errorf("error: %v", err)
		}
		if got != sentinel {
			return fmt.Errorf("got %s, want null", show(got))
		}
		return nil
	})
}

func show(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + fmt.Sprintf("... (%d chars)", len(s))
	}
	return s
}

func javaString() *peer.Typed { n := peer.Null("java.lang.String"); return &n }

func null(javaType string) *peer.Typed { n := peer.Null(javaType); return &n }

// ------------------------------------------------------------------------------------------

func valueCases() {
	expect("sayHello", "sayHello", "Hello world", "world")
	expect("sayHello.unicode", "sayHello", "Hello héllo wörld ☃", "héllo wörld ☃")
	expect("sayHello.supplementary", "sayHello", "Hello 😀 𝄞 z", "😀 𝄞 z")
	long := strings.Repeat("x", 2000)
	expect("sayHello.2000", "sayHello", "Hello "+long, long)
	// Past dubbo-go's 4 096-unit string chunks and tether's 32 768-unit ones.
	large := strings.Repeat("abcdé☃😀", 10000)
	expect("sayHello.large", "sayHello", "Hello "+large, large)
	expect("repeat.100000", "repeat", strings.Repeat("x", 100000), int32(100000))
	expect("ping", "ping", "pong")

	expect("echoString", "echoString", "abc", "abc")
	expect("echoString.empty", "echoString", "", "")
	expectNull("echoString.null", "echoString", javaString())

	for _, v := range []int32{0, 47, -16, 48, -17, 2047, -2048, 2048, 262143, -262144, 262144,
		math.MinInt32, math.MaxInt32} {
		expect(fmt.Sprintf("echoInt.%d", v), "echoInt", v, v)
	}
	for _, v := range []int64{0, 15, -8, 16, 2047, -2048, 262143, 262144, 2147483648, -(1 << 40),
		math.MaxInt64, math.MinInt64} {
		expect(fmt.Sprintf("echoLong.%d", v), "echoLong", v, v)
	}
	for _, v := range []float64{0, 1, -5, 127, 128, 1000, 32768, 3.5, 0.001, 12.25, 1.23456789,
		40000.5, 1e300, -2.5e-8, math.Inf(1), math.MaxFloat64, math.SmallestNonzeroFloat64} {
		expect(fmt.Sprintf("echoDouble.%g", v), "echoDouble", v, v)
	}
	expect("echoBool.true", "echoBool", true, true)
	expect("echoBool.false", "echoBool", false, false)

	mixed := []any{int32(1), "a", nil, 2.5, int64(1 << 40), true}
	expect("echoList", "echoList", mixed, mixed)
	ten := make([]any, 10)
	for i := range ten {
		ten[i] = int32(i)
	}
	expect("echoList.10", "echoList", ten, ten)
	expect("echoList.empty", "echoList", []any{}, []any{})
	expectNull("echoList.null", "echoList", null("java.util.List"))

	// Sent as map[string]any (descriptor java.util.Map); dubbo-go decodes a Hessian map only
	// into map[any]any (a map[string]any reply fails to decode and drops the connection).
	m := map[string]any{"a": int32(1), "b": "x", "c": []any{int32(2), int32(3)}}
	mm := map[any]any{"a": int32(1), "b": "x", "c": []any{int32(2), int32(3)}}
	expect("echoMap", "echoMap", mm, m)
	expect("echoMap.untyped", "echoMap", mm, mm)
	expect("echoMap.empty", "echoMap", map[any]any{}, map[string]any{})

	for _, n := range []int{4, 100, 2000, 9000, 70000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7 % 251)
		}
		expect(fmt.Sprintf("echoBytes.%d", n), "echoBytes", b, b)
	}
	expect("echoBytes.empty", "echoBytes", []byte{}, []byte{})
	expectNull("echoBytes.null", "echoBytes", null("[B"))

	strs := []string{"a", "bb", "ccc"}
	expect("echoStringArray", "echoStringArray", strs, strs)
	eight := []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}
	expect("echoStringArray.8", "echoStringArray", eight, eight)
	ints := []int32{1, -1, 1000, 100000, math.MinInt32}
	expect("echoIntArray", "echoIntArray", ints, ints)
	expect("echoIntArray.empty", "echoIntArray", []int32{}, []int32{})

	tom := &peer.User{Name: "tom", Age: 18}
	expect("echoUser", "echoUser", tom, tom)
	expect("echoUser.unicode", "echoUser", &peer.User{Name: "Zoë ☃", Age: -1}, &peer.User{Name: "Zoë ☃", Age: -1})
	// A nil *User is sent as null with the descriptor Lorg/apache/dubbo/demo/User;.
	expectNull("echoUser.null", "echoUser", (*peer.User)(nil))

	expect("join", "join", "x:5:true", "x", int32(5), true)
	expect("join.null", "join", "null:-1:false", javaString(), int32(-1), false)
}

func attachmentCases() {
	run("getAttachment", func() error {
		var got string
		c := withAttachments(map[string]any{"traceId": "trace-42"})
		if err := call(c, "getAttachment", &got, "traceId"); err != nil {
			return err
		}
		if got != "trace-42" {
			return fmt.Errorf("got %q", got)
		}
		return nil
	})
	run("getAttachment.stringMap", func() error {
		var got string
		c := context.WithValue(ctx(), constant.AttachmentKey, map[string]string{"k2": "v2 ☃"})
		if err := call(c, "getAttachment", &got, "k2"); err != nil {
			return err
		}
		if got != "v2 ☃" {
			return fmt.Errorf("got %q", got)
		}
		return nil
	})
	run("getAttachment.interface", func() error {
		var got string
		if err := call(ctx(), "getAttachment", &got, "interface"); err != nil {
			return err
		}
		if got != peer.Service {
			return fmt.Errorf("got %q, want the interface attachment %q", got, peer.Service)
		}
		return nil
	})
	run("getAttachment.int", func() error {
		// Java 2.7+ takes attachment values of any type; tether's getAttachment prints it.
		var got string
		if err := call(withAttachments(map[string]any{"n": int32(5)}), "getAttachment", &got, "n"); err != nil {
			return err
		}
		if got != "5" {
			return fmt.Errorf("got %q", got)
		}
		return nil
	})
	expectNull("getAttachment.absent", "getAttachment", "nope")
}

func errorCases() {
	run("throwException", func() error {
		var got string
		err := call(ctx(), "throwException", &got, "bad")
		if err == nil {
			return fmt.Errorf("no error; got %q", got)
		}
		// dubbo-go hands a thrown Java exception over as a GenericException: class and message.
		var thrown *hessian2.GenericException
		if !errors.As(perrors.Cause(err), &thrown) {
			return fmt.Errorf("error %T %v is not a Java exception", perrors.Cause(err), err)
		}
		if thrown.ExceptionClass != "java.lang.RuntimeException" || thrown.ExceptionMessage != "bad" {
			return fmt.Errorf("got %s(%q)", thrown.ExceptionClass, thrown.ExceptionMessage)
		}
		return nil
	})
	run("boom.status70", func() error {
		var got string
		err := call(ctx(), "boom", &got)
		if err == nil || !strings.Contains(err.Error(), "boom") {
			return fmt.Errorf("want an error naming the panic, got %v (%q)", err, got)
		}
		return nil
	})
	run("unknownMethod", func() error {
		var got string
		err := call(ctx(), "noSuchMethod", &got, "x")
		if err == nil || !strings.Contains(err.Error(), "noSuchMethod") {
			return fmt.Errorf("want an error naming noSuchMethod, got %v (%q)", err, got)
		}
		return nil
	})
	for _, c := range []struct{ name, iface, version, want string }{
		{"unknownService", "org.apache.dubbo.demo.NoSuchService", peer.Version, "NoSuchService"},
		{"unknownVersion", peer.Service, "9.9.9", "9.9.9"},
	} {
		run(c.name, func() error {
			other, err := newClient().Dial(c.iface, client.WithURL(url), client.WithVersion(c.version))
			if err != nil {
				return err
			}
			var got string
			err = other.CallUnary(ctx(), []any{"x"}, &got, "sayHello", client.WithCallRetries(0))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				return fmt.Errorf("want an error naming %s, got %v (%q)", c.want, err, got)
			}
			return nil
		})
	}
	run("echo", func() error {
		// $echo(Object): dubbo-go would send a string as Ljava/lang/String;, which Dubbo 3
		// providers take for a method of that name (there is none), not for $echo.
		var got any
		arg := &peer.Typed{Type: "java.lang.Object", Value: "are you there? ☃"}
		if err := call(ctx(), "$echo", &got, arg); err != nil {
			return err
		}
		if got != "are you there? ☃" {
			return fmt.Errorf("got %s", show(got))
		}
		return nil
	})
	run("afterErrors", func() error {
		var got string
		if err := call(ctx(), "sayHello", &got, "again"); err != nil || got != "Hello again" {
			return fmt.Errorf("got %q, %v", got, err)
		}
		return nil
	})
}

// asyncStub is dubbo-go's async reference: a struct of function fields, made into a proxy by
// DialWithService with client.WithAsync(); responses arrive at CallBack.
type asyncStub struct {
	SayHello func(ctx context.Context, name string) (string, error) `dubbo:"sayHello"`

	mu      sync.Mutex
	replies []remoting.AsyncCallbackResponse
	done    chan struct{}
	want    int
}

func (s *asyncStub) CallBack(response common.CallbackResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := response.(remoting.AsyncCallbackResponse)
	if !ok {
		r = remoting.AsyncCallbackResponse{Cause: fmt.Errorf("callback got %T", response)}
	}
	s.replies = append(s.replies, r)
	if len(s.replies) == s.want {
		close(s.done)
	}
}

func callModeCases() {
	run("concurrent16.goroutines", func() error {
		errs := make(chan error, 16)
		for i := range 16 {
			go func() {
				var got string
				name := fmt.Sprintf("g%d", i)
				err := call(ctx(), "sayHello", &got, name)
				if err == nil && got != "Hello "+name {
					err = fmt.Errorf("call %d got %q", i, got)
				}
				errs <- err
			}()
		}
		for range 16 {
			if err := <-errs; err != nil {
				return err
			}
		}
		return nil
	})
	run("concurrent200.sleep", func() error {
		// 200 calls in flight at once, each held 100 ms by the provider.
		start := time.Now()
		errs := make(chan error, 200)
		for i := range 200 {
			go func() {
				var got int64
				err := call(ctx(), "sleep", &got, int64(100))
				if err == nil && got != 100 {
					err = fmt.Errorf("call %d got %d", i, got)
				}
				errs <- err
			}()
		}
		for range 200 {
			if err := <-errs; err != nil {
				return err
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			return fmt.Errorf("took %v: the calls did not overlap", d)
		}
		return nil
	})
	run("async.callback", func() error {
		stub := &asyncStub{done: make(chan struct{}), want: 8}
		if _, err := newClient().DialWithService(peer.Service, stub, client.WithURL(url),
			client.WithVersion(peer.Version), client.WithAsync()); err != nil {
			return err
		}
		for i := range stub.want {
			if _, err := stub.SayHello(ctx(), fmt.Sprintf("a%d", i)); err != nil {
				return fmt.Errorf("call %d: %v", i, err)
			}
		}
		select {
		case <-stub.done:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("%d of %d callbacks in 10 s", len(stub.replies), stub.want)
		}
		stub.mu.Lock()
		defer stub.mu.Unlock()
		seen := map[string]bool{}
		for _, r := range stub.replies {
			if r.Cause != nil {
				return fmt.Errorf("callback error: %v", r.Cause)
			}
			resp, ok := r.Reply.(*remoting.Response)
			if !ok || resp.Result == nil {
				return fmt.Errorf("callback reply %T %v", r.Reply, r.Reply)
			}
			res, ok := resp.Result.(interface{ Result() any })
			if !ok {
				return fmt.Errorf("callback result %T", resp.Result)
			}
			v := res.Result()
			if p, ok := v.(*string); ok {
				v = *p
			}
			s, _ := v.(string)
			seen[s] = true
		}
		for i := range stub.want {
			if !seen[fmt.Sprintf("Hello a%d", i)] {
				return fmt.Errorf("replies %v lack Hello a%d", seen, i)
			}
		}
		return nil
	})
	run("oneway.log", func() error {
		// dubbo-go sends a request one-way when its "async" attachment is true and the call
		// has no callback.
		c := withAttachments(map[string]any{constant.AsyncKey: "true"})
		for i := range OnewayLogs {
			if err := conn.CallUnary(c, []any{fmt.Sprintf("line %d", i)}, nil, "log"); err != nil {
				return fmt.Errorf("send %d: %v", i, err)
			}
		}
		var got string
		if err := call(ctx(), "sayHello", &got, "after-oneway"); err != nil || got != "Hello after-oneway" {
			return fmt.Errorf("the call after: %q, %v", got, err)
		}
		return nil
	})
	run("timeout", func() error {
		var got int64
		start := time.Now()
		// No retries: failover would retry the timed-out call, and dubbo-go loses the
		// timeout on a retry (it stores it back as "300", which it cannot parse as a
		// duration), so the retry waits for the answer.
		// A connection of its own: dubbo-go's reader panics on the late answer (it finds no
		// pending call for it) and leaves that connection open but unread.
		own, err := newClient().Dial(peer.Service, client.WithURL(url), client.WithVersion(peer.Version))
		if err != nil {
			return err
		}
		err = own.CallUnary(ctx(), []any{int64(1500)}, &got, "sleep",
			client.WithCallRequestTimeout(300*time.Millisecond), client.WithCallRetries(0))
		took := time.Since(start)
		if err == nil {
			return fmt.Errorf("no timeout: got %d after %v", got, took)
		}
		if !strings.Contains(strings.ToLower(err.Error()), "timeout") {
			return fmt.Errorf("error %q does not say timeout", err)
		}
		if took > 1200*time.Millisecond {
			return fmt.Errorf("timed out after %v, want about 300 ms", took)
		}
		// Another call at once, then again after the late response has arrived.
		for _, when := range []string{"at once", "after the late response"} {
			var n int64
			if err := call(ctx(), "sleep", &n, int64(10)); err != nil || n != 10 {
				return fmt.Errorf("the call %s: %d, %v", when, n, err)
			}
			time.Sleep(time.Until(start.Add(1800 * time.Millisecond)))
		}
		return nil
	})
	run("sleep.sync", func() error {
		var got int64
		if err := call(ctx(), "sleep", &got, int64(50)); err != nil || got != 50 {
			return fmt.Errorf("got %d, %v", got, err)
		}
		return nil
	})
}

func genericCases() {
	gs, err := newClient().NewGenericService(peer.Service, client.WithURL(url), client.WithVersion(peer.Version))
	if err != nil {
		run("generic.dial", func() error { return err })
		return
	}
	run("generic.sayHello", func() error {
		got, err := gs.Invoke(ctx(), "sayHello", []string{"java.lang.String"}, []hessian.Object{"generic"})
		if err != nil {
			return err
		}
		if got != "Hello generic" {
			return fmt.Errorf("got %s", show(got))
		}
		return nil
	})
	run("generic.join", func() error {
		got, err := gs.Invoke(ctx(), "join", []string{"java.lang.String", "int", "boolean"},
			[]hessian.Object{"g", int32(7), false})
		if err != nil {
			return err
		}
		if got != "g:7:false" {
			return fmt.Errorf("got %s", show(got))
		}
		return nil
	})
	run("generic.echoUser", func() error {
		// A generic call carries POJOs as maps, and gets them back as maps.
		arg := map[string]any{"class": "org.apache.dubbo.demo.User", "name": "gen", "age": int32(3)}
		got, err := gs.Invoke(ctx(), "echoUser", []string{"org.apache.dubbo.demo.User"}, []hessian.Object{arg})
		if err != nil {
			return err
		}
		m, ok := got.(map[any]any)
		if !ok || m["name"] != "gen" || m["age"] != int32(3) {
			return fmt.Errorf("got %s", show(got))
		}
		return nil
	})
}

// heartbeatCases checks tether's answer to a heartbeat as dubbo-go's codec reads it, and that
// an idle connection keeps exchanging heartbeats (every heartbeatPeriod) and still works.
func heartbeatCases() {
	run("heartbeat.codec", func() error {
		codec := &dubboproto.DubboCodec{}
		req := remoting.NewRequest("2.0.2")
		req.TwoWay, req.Event = true, true
		buf, err := codec.EncodeRequest(req)
		if err != nil {
			return err
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(buf.Bytes()); err != nil {
			return err
		}
		var data []byte
		chunk := make([]byte, 4096)
		for {
			n, err := c.Read(chunk)
			data = append(data, chunk[:n]...)
			if res, length, derr := codec.Decode(data); derr != nil {
				return fmt.Errorf("decode % x: %v", data, derr)
			} else if res != nil {
				resp, ok := res.Result.(*remoting.Response)
				switch {
				case res.IsRequest || !ok:
					return fmt.Errorf("got a request, not a response: % x", data)
				case resp.ID != req.ID || !resp.Event || resp.Status != 20:
					return fmt.Errorf("response id %d event %t status %d, want id %d event true status 20 (% x)",
						resp.ID, resp.Event, resp.Status, req.ID, data)
				case length != len(data):
					return fmt.Errorf("%d bytes after the response: % x", len(data)-length, data)
				}
				return nil
			}
			if err == io.EOF {
				return fmt.Errorf("connection closed after % x", data)
			} else if err != nil {
				return fmt.Errorf("after % x: %v", data, err)
			}
		}
	})
	run("heartbeat.idle2s", func() error {
		before, failuresBefore := peer.HeartbeatResponses.Load(), peer.HeartbeatFailures.Load()
		time.Sleep(2500 * time.Millisecond)
		got := peer.HeartbeatResponses.Load() - before
		if got < 2 {
			return fmt.Errorf("%d heartbeat responses in 2.5 s idle, want some (period %v)", got, heartbeatPeriod)
		}
		if f := peer.HeartbeatFailures.Load() - failuresBefore; f != 0 {
			return fmt.Errorf("%d heartbeats failed", f)
		}
		var s string
		if err := call(ctx(), "sayHello", &s, "idle"); err != nil || s != "Hello idle" {
			return fmt.Errorf("the call after 2 s idle: %q, %v", s, err)
		}
		return nil
	})
}

// newClient makes a client of its own for each kind of reference: the references of one
// dubbo-go client share one ReferenceConfig, and options such as client.WithAsync() or a
// generic service change it for every reference of that client, earlier ones included.
func newClient() *client.Client {
	cli, err := ins.NewClient(client.WithClientProtocolDubbo(), client.WithClientRequestTimeout(10*time.Second))
	if err != nil {
		fail("NewClient: %v", err)
	}
	return cli
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goconsumer: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	registryAddress := flag.String("registry", "",
		"find the provider through this registry (zookeeper://HOST:PORT) instead of HOST PORT")
	registryType := flag.String("registry-type", "",
		"with -registry: interface, service or all; empty for dubbo-go's default")
	calls := flag.Int("calls", 3, "with -registry: how many sayHello calls after the first answer")
	threadNames := flag.Int("thread-names", 0,
		"with -registry: how many threadName calls after those (to count which provider answered)")
	findWithin := flag.Duration("find-within", 30*time.Second,
		"with -registry: how long to wait for a provider to answer")
	mixedWithin := flag.Duration("mixed-within", 0,
		"with -registry: then call threadName until goprovider and another provider both answered, "+
			"failing after this long (0: not at all)")
	flag.Parse()
	if *registryAddress != "" {
		registryMain(*registryAddress, *registryType, *calls, *threadNames, *findWithin, *mixedWithin)
		return
	}
	if flag.NArg() != 2 {
		fail("usage: goconsumer HOST PORT | goconsumer -registry zookeeper://HOST:PORT " +
			"[-registry-type interface|service|all] [-calls N] [-thread-names N] [-find-within DURATION] " +
			"[-mixed-within DURATION]")
	}
	addr = net.JoinHostPort(flag.Arg(0), flag.Arg(1))
	url = "dubbo://" + addr

	var err error
	ins, err = dubbo.NewInstance(
		dubbo.WithName("tether-interop-goconsumer"),
		dubbo.WithLogger(dubbolog.WithLevel("warn")),
	)
	if err != nil {
		fail("dubbo.NewInstance: %v", err)
	}
	peer.InstallLogger()
	conf := getty.GetDefaultClientConfig()
	conf.HeartbeatPeriod = heartbeatPeriod.String()
	conf.HeartbeatTimeout = "2s"
	getty.SetClientConf(*conf)

	conn, err = newClient().Dial(peer.Service, client.WithURL(url), client.WithVersion(peer.Version))
	if err != nil {
		fail("Dial: %v", err)
	}

	valueCases()
	attachmentCases()
	errorCases()
	callModeCases()
	genericCases()
	heartbeatCases()
	fmt.Printf("NOTE heartbeat requests from the provider answered: %d\n", peer.HeartbeatRequests.Load())
	fmt.Println("NOTE notify(int, Listener): not run: dubbo-go v3 has no parameter callbacks on dubbo:// " +
		"(it neither exports a callback service for an argument nor answers the provider's calls back)")

	if xfailed > 0 {
		fmt.Printf("NOTE %d known differences (XFAIL), not counted\n", xfailed)
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
