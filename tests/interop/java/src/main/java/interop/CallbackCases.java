package interop;

import static interop.JavaConsumer.check;
import static interop.JavaConsumer.describe;
import static interop.JavaConsumer.eq;
import static interop.JavaConsumer.reference;
import static interop.JavaConsumer.throwsFrom;
import static interop.JavaConsumer.truth;

import java.util.Arrays;
import java.util.Collections;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.dubbo.config.ArgumentConfig;
import org.apache.dubbo.config.MethodConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.demo.DemoService;
import org.apache.dubbo.demo.Listener;
import org.apache.dubbo.rpc.RpcException;

/**
 * Parameter callbacks beyond one listener (issue 11): subscribing up to the provider's
 * {@code callbacks} limit (3 per connection, set on both providers) and past it, unsubscribing
 * with a {@code callback="false"} argument (which frees a place), and what a provider's proxy
 * does once the consumer's connection closed. Each case's listeners live on a connection of
 * their own ({@code connections=1}), so that counts start at zero.
 */
final class CallbackCases {
    private CallbackCases() {}

    /** A listener that records what it is called with. */
    static final class Recorder implements Listener {
        final BlockingQueue<Integer> got = new LinkedBlockingQueue<>();

        @Override
        public void changed(int i) {
            got.add(i);
        }

        Integer next(long ms) throws InterruptedException {
            return got.poll(ms, TimeUnit.MILLISECONDS);
        }
    }

    /** A reference on a connection of its own, with subscribe and unsubscribe declared. */
    static ReferenceConfig<DemoService> own() {
        return reference(r -> {
            r.setInterface(DemoService.class);
            r.setConnections(1);
            r.setMethods(Arrays.asList(argument("addListener", true), argument("removeListener", false)));
            // As a registry would say them (see JavaConsumer.parameters).
            r.getParameters().put("addListener.1.callback", "true");
            r.getParameters().put("removeListener.1.callback", "false");
            // The consumer's own limit (Dubbo's default is 1), above the provider's.
            r.getParameters().put("callbacks", "10");
        });
    }

    /** {@code method}'s argument 1 as a callback ({@code true}) or an unsubscription. */
    static MethodConfig argument(String method, boolean callback) {
        ArgumentConfig argument = new ArgumentConfig();
        argument.setIndex(1);
        argument.setCallback(callback);
        return JavaConsumer.method(method, m -> m.setArguments(Collections.singletonList(argument)));
    }

    static void fired(DemoService d, String key, Recorder listener, int value) throws Exception {
        eq(d.fire(key, value), "ok");
        eq(listener.next(10_000), value);
    }

    static void run(DemoService shared) {
        DemoService d = own().get();
        Recorder a = new Recorder();
        Recorder b = new Recorder();
        Recorder c = new Recorder();
        Recorder late = new Recorder();
        check("callback.subscribe", () -> {
            d.addListener("a", a);
            d.addListener("b", b);
            d.addListener("c", c);
            fired(d, "a", a, 1);
            fired(d, "b", b, 1);
            fired(d, "c", c, 1);
        });
        check("callback.limit", () -> {
            // The provider refuses a fourth instance while decoding the request (status 40):
            // 2.7 and tether say why; 3.3 names the invocation only (and logs why).
            Throwable t = throwsFrom(() -> d.addListener("d", late));
            System.err.println("callback.limit: " + describe(t));
            truth(!(t instanceof RpcException) || !((RpcException) t).isTimeout(), "a timeout: " + describe(t));
            truth(describe(t).contains("Fail to decode request due to: "), describe(t));
            boolean says = describe(t).contains("callback instances num exceed providers limit :3");
            truth(says || (JavaConsumer.JAVA_PEER && Compat.LINE.equals("3.3")), describe(t));
            eq(d.fire("d", 2), "absent");
            // The first three keep working.
            fired(d, "a", a, 2);
            fired(d, "b", b, 2);
            fired(d, "c", c, 2);
        });
        check("callback.unsubscribe", () -> {
            d.removeListener("a", a);
            String after = d.fire("a", 3);
            System.err.println("callback.unsubscribe: " + after);
            truth(after.startsWith("failed: "), "fire after unsubscribing: " + after);
            eq(a.next(300), null);
            // The place it freed takes the listener refused before.
            d.addListener("d", late);
            fired(d, "d", late, 4);
            fired(d, "b", b, 4);
        });
        check("callback.disconnect", () -> {
            ReferenceConfig<DemoService> goneRef = own();
            DemoService gone = goneRef.get();
            Recorder g = new Recorder();
            gone.addListener("gone", g);
            fired(gone, "gone", g, 5);
            // Closes its connection: the provider's proxy is left bound to a closed channel.
            goneRef.destroy();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            String after;
            do {
                g.got.clear();
                after = shared.fire("gone", 6);
            } while (!after.startsWith("failed: ") && System.nanoTime() < deadline);
            System.err.println("callback.disconnect: " + after);
            truth(after.startsWith("failed: "), "fire after disconnecting: " + after);
            eq(g.next(300), null);
        });
    }
}
