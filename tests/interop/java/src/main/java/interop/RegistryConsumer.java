package interop;

import org.apache.dubbo.common.Version;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.demo.DemoService;

/**
 * A Dubbo consumer of the demo contract that knows only a registry: it finds the provider
 * there, with Dubbo's default settings (check=true, 3.3's APPLICATION_FIRST migration), and
 * calls {@code sayHello(NAME)}.
 *
 * <p>usage: RegistryConsumer REGISTRY NAME [CALLS [METHOD]], e.g.
 * {@code zookeeper://127.0.0.1:2181 tether}; METHOD is {@code sayHello} (NAME's greeting, the
 * default) or {@code threadName}. Prints {@code RESULT <answer>} per call, then exits 0; a failure prints
 * {@code FAIL <reason>} and exits 1.
 */
public final class RegistryConsumer {
    private RegistryConsumer() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: RegistryConsumer REGISTRY NAME [CALLS [sayHello|threadName]]");
            System.exit(2);
        }
        Loopback.pin();
        int calls = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        String method = args.length > 3 ? args[3] : "sayHello";
        try {
            ReferenceConfig<DemoService> ref = new ReferenceConfig<>();
            ref.setInterface(DemoService.class);
            ref.setVersion("1.0.0");
            ref.setTimeout(5000);
            ApplicationConfig application = new ApplicationConfig("tether-interop-registry-consumer");
            application.setQosEnable(false);
            DubboBootstrap.getInstance()
                    .application(application)
                    .registry(new RegistryConfig(args[0]))
                    .reference(ref)
                    .start();
            System.err.println("RegistryConsumer: Dubbo " + Version.getVersion() + " (line " + Compat.LINE
                    + ") through " + args[0]);
            DemoService demo = ref.get();
            for (int i = 0; i < calls; i++) {
                // threadName() tells the providers apart: Java's answers a
                // "DubboServerHandler-<ip>:<port>-thread-<n>", tether's its own thread's name.
                String answer = "threadName".equals(method) ? demo.threadName() : demo.sayHello(args[1]);
                System.out.println("RESULT " + answer);
                System.out.flush();
            }
        } catch (Throwable t) {
            System.out.println("FAIL " + JavaConsumer.oneLine(JavaConsumer.describe(t)));
            System.out.flush();
            System.exit(1);
        }
        System.exit(0);
    }
}
