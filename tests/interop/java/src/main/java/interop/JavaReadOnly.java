package interop;

import static interop.JavaConsumer.check;
import static interop.JavaConsumer.describe;
import static interop.JavaConsumer.eq;
import static interop.JavaConsumer.truth;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.dubbo.common.Version;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.demo.DemoService;

/**
 * A Java consumer while one of its providers shuts down gracefully (issue 11): provider A
 * sends the read-only event while three calls are in flight on it; provider B stays.
 *
 * <p>usage: JavaReadOnly HOST PORT_A PORT_B. Starts sleep(1000) and two sleep(4000) on A,
 * prints {@code in flight}, and expects A's shutdown to begin now (the test starts it once
 * A holds the three). Then: the cluster of A and B sends its new calls to B only; a
 * reference to A alone behaves as its Dubbo line does (3.3: one more call goes to A, which
 * invalidates it, after which calls fail with "No provider available" without being sent;
 * 2.7: its calls still go to A); the calls in flight are answered. A tether provider
 * answers the calls it still gets while it drains, and so does a Java 3.3 provider; a Java
 * 2.7 provider, which unexports its services before it announces read-only, refuses them
 * ({@code -Dinterop.peer=java} says A and B are JavaProviders). Prints {@code PASS} and
 * {@code FAIL} lines, {@code single: N sent} (the calls the reference to A alone made after
 * the event) and {@code N passed, M failed}.
 */
public final class JavaReadOnly {
    private JavaReadOnly() {}

    static ReferenceConfig<DemoService> reference(String url) {
        ReferenceConfig<DemoService> ref = new ReferenceConfig<>();
        ref.setInterface(DemoService.class);
        ref.setVersion("1.0.0");
        ref.setUrl(url);
        ref.setTimeout(15_000);
        ref.setRetries(0);
        ref.setCluster("failover");
        ref.setLoadbalance("roundrobin");
        ref.setParameters(JavaConsumer.parameters());
        return ref;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: JavaReadOnly HOST PORT_A PORT_B");
            System.exit(2);
        }
        Loopback.pin();
        String a = "dubbo://" + args[0] + ":" + args[1];
        String b = "dubbo://" + args[0] + ":" + args[2];
        ApplicationConfig application = new ApplicationConfig("tether-interop-java-readonly");
        application.setQosEnable(false);
        DubboBootstrap.getInstance()
                .application(application)
                .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE))
                .start();
        System.err.println("JavaReadOnly: Dubbo " + Version.getVersion() + " (line " + Compat.LINE + ")");

        // The references share the connection to A (Dubbo shares one per address).
        DemoService both = reference(a + ";" + b).get();
        DemoService onlyA = reference(a).get();
        ReferenceConfig<DemoService> asyncRef = reference(a);
        asyncRef.setMethods(Collections.singletonList(JavaConsumer.method("sleep", m -> m.setAsync(true))));
        DemoService asyncA = asyncRef.get();

        check("readonly.before", () -> {
            for (int i = 0; i < 4; i++) {
                eq(both.sayHello("before " + i), "Hello before " + i);
            }
            eq(onlyA.sayHello("a"), "Hello a");
        });

        List<CompletableFuture<Long>> inFlight = new ArrayList<>();
        for (long ms : new long[] {1000, 4000, 4000}) {
            asyncA.sleep(ms);
            inFlight.add(Compat.lastFuture());
        }
        System.out.println("in flight");
        System.out.flush();

        check("readonly.first-answer", () -> {
            // Its answer is written after the read-only event (the shutdown began well
            // before a second had passed); give the event's handling a moment too.
            eq(inFlight.get(0).get(15, TimeUnit.SECONDS), 1000L);
            Thread.sleep(300);
        });
        check("readonly.cluster-avoids-it", () -> {
            // A is read-only but still connected: every new call goes to B.
            for (int i = 0; i < 20; i++) {
                eq(both.sayHello("after " + i), "Hello after " + i);
            }
        });
        check("readonly.single-provider", () -> {
            int sent = 0;
            String first = outcome(onlyA, "solo 1");
            String second = outcome(onlyA, "solo 2");
            if (Compat.LINE.equals("3.3")) {
                // The first call finds A still listed: it is sent (and marks A invalid).
                eq(first, "Hello solo 1");
                truth(second.contains("No provider available"), "second call: " + second);
                sent = 1;
            } else if (JavaConsumer.JAVA_PEER) {
                // No cluster over a single URL: the calls go to A. A Java 2.7 provider
                // unexported its services before it announced read-only: it refuses them.
                truth(first.contains("Not found exported service"), "first call: " + first);
                truth(second.contains("Not found exported service"), "second call: " + second);
                sent = 2;
            } else {
                // No cluster over a single URL: the calls go to A, which answers.
                eq(first, "Hello solo 1");
                eq(second, "Hello solo 2");
                sent = 2;
            }
            System.out.println("single: " + sent + " sent");
        });
        check("readonly.in-flight-answered", () -> {
            eq(inFlight.get(1).get(15, TimeUnit.SECONDS), 4000L);
            eq(inFlight.get(2).get(15, TimeUnit.SECONDS), 4000L);
        });
        check("readonly.after-close", () -> {
            // A drained and closed; B answers.
            for (int i = 0; i < 5; i++) {
                eq(both.sayHello("later " + i), "Hello later " + i);
            }
        });

        System.out.println(JavaConsumer.passed + " passed, " + JavaConsumer.failed + " failed");
        System.out.flush();
        System.exit(JavaConsumer.failed == 0 ? 0 : 1);
    }

    static String outcome(DemoService d, String name) {
        try {
            return d.sayHello(name);
        } catch (Throwable t) {
            return describe(t);
        }
    }
}
