package interop;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.dubbo.common.Version;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ArgumentConfig;
import org.apache.dubbo.config.MethodConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.demo.Animal;
import org.apache.dubbo.demo.Color;
import org.apache.dubbo.demo.DemoService;
import org.apache.dubbo.demo.Dog;
import org.apache.dubbo.demo.Listener;
import org.apache.dubbo.demo.Node;
import org.apache.dubbo.demo.User;
import org.apache.dubbo.rpc.AsyncContext;
import org.apache.dubbo.rpc.RpcContext;

/**
 * Serves the demo contract (org.apache.dubbo.demo.DemoService 1.0.0) with real Dubbo over
 * dubbo:// + hessian2, no registry, on 127.0.0.1.
 *
 * <p>usage: JavaProvider PORT (0 = a free port). Prints {@code listening on 127.0.0.1:PORT}
 * once exported, then serves until killed or until its stdin closes.
 */
public final class JavaProvider {
    private JavaProvider() {}

    /** Runs sleep/bytesAfter answers and notify's callbacks, off Dubbo's threads. */
    static final ScheduledExecutorService TIMER = Executors.newScheduledThreadPool(4, r -> {
        Thread t = new Thread(r, "provider-timer");
        t.setDaemon(true);
        return t;
    });

    static final ExecutorService CALLBACKS = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "provider-callbacks");
        t.setDaemon(true);
        return t;
    });

    /** The contract's semantics, identical to tether's demo_service() / suite_service(). */
    static final class Impl implements DemoService {
        final AtomicLong logged = new AtomicLong();
        /** hang() calls, never answered. */
        final ConcurrentLinkedQueue<AsyncContext> hung = new ConcurrentLinkedQueue<>();

        @Override
        public String sayHello(String name) {
            Compat.responseAttachment("provider", "java-dubbo-" + Version.getVersion());
            return "Hello " + name;
        }

        @Override
        public String ping() {
            return "pong";
        }

        @Override
        public String echoString(String s) {
            return s;
        }

        @Override
        public int echoInt(int v) {
            return v;
        }

        @Override
        public long echoLong(long v) {
            return v;
        }

        @Override
        public double echoDouble(double v) {
            return v;
        }

        @Override
        public boolean echoBool(boolean v) {
            return v;
        }

        @Override
        public List<Object> echoList(List<Object> v) {
            return v;
        }

        @Override
        public Map<String, Object> echoMap(Map<String, Object> v) {
            return v;
        }

        @Override
        public byte[] echoBytes(byte[] v) {
            return v;
        }

        @Override
        public String[] echoStringArray(String[] v) {
            return v;
        }

        @Override
        public int[] echoIntArray(int[] v) {
            return v;
        }

        @Override
        public User echoUser(User u) {
            return u;
        }

        @Override
        public String join(String s, int i, boolean b) {
            return s + ":" + i + ":" + b;
        }

        @Override
        public String getAttachment(String key) {
            Compat.responseAttachment("provider", "java-dubbo-" + Version.getVersion());
            return key == null ? null : Compat.requestAttachment(key);
        }

        @Override
        public String throwException(String message) {
            throw new RuntimeException(message);
        }

        @Override
        public long sleep(long ms) {
            AsyncContext context = RpcContext.startAsync();
            TIMER.schedule(() -> {
                context.signalContextSwitch();
                context.write(ms);
            }, ms, TimeUnit.MILLISECONDS);
            return 0;
        }

        @Override
        public void hang() {
            hung.add(RpcContext.startAsync());
        }

        @Override
        public void log(String line) {
            logged.incrementAndGet();
        }

        @Override
        public void notify(int times, Listener listener) {
            CALLBACKS.execute(() -> {
                for (int i = 0; i < times; i++) {
                    try {
                        listener.changed(i);
                    } catch (RuntimeException e) {
                        System.err.println("notify: callback " + i + " failed: " + e);
                        return;
                    }
                }
            });
        }

        /** addListener's listeners by key. */
        final Map<String, Listener> listeners = new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public void addListener(String key, Listener listener) {
            listeners.put(key, listener);
        }

        @Override
        public void removeListener(String key, Listener listener) {
            // Dubbo destroyed the proxy before this runs; what was kept stays, to be fired.
        }

        @Override
        public String fire(String key, int value) {
            Listener listener = listeners.get(key);
            if (listener == null) {
                return "absent";
            }
            try {
                listener.changed(value);
                return "ok";
            } catch (RuntimeException e) {
                String message = String.valueOf(e.getMessage()).split("\n", 2)[0];
                return "failed: " + e.getClass().getName() + ": " + message;
            }
        }

        @Override
        public String boom() {
            throw new IllegalStateException("boom");
        }

        @Override
        public String threadName() {
            return Thread.currentThread().getName();
        }

        @Override
        public String repeat(int n) {
            return "x".repeat(n);
        }

        @Override
        public byte[] bytesAfter(int n, long ms) {
            AsyncContext context = RpcContext.startAsync();
            TIMER.schedule(() -> {
                byte[] bytes = new byte[n];
                java.util.Arrays.fill(bytes, (byte) 'x');
                context.signalContextSwitch();
                context.write(bytes);
            }, ms, TimeUnit.MILLISECONDS);
            return null;
        }

        // The type matrix (issue 11): echoes.

        @Override
        public byte echoByte(byte v) {
            return v;
        }

        @Override
        public short echoShort(short v) {
            return v;
        }

        @Override
        public char echoChar(char v) {
            return v;
        }

        @Override
        public float echoFloat(float v) {
            return v;
        }

        @Override
        public Byte echoBoxedByte(Byte v) {
            return v;
        }

        @Override
        public Short echoBoxedShort(Short v) {
            return v;
        }

        @Override
        public Integer echoBoxedInt(Integer v) {
            return v;
        }

        @Override
        public Long echoBoxedLong(Long v) {
            return v;
        }

        @Override
        public Float echoBoxedFloat(Float v) {
            return v;
        }

        @Override
        public Double echoBoxedDouble(Double v) {
            return v;
        }

        @Override
        public Boolean echoBoxedBool(Boolean v) {
            return v;
        }

        @Override
        public Character echoBoxedChar(Character v) {
            return v;
        }

        @Override
        public long[] echoLongArray(long[] v) {
            return v;
        }

        @Override
        public short[] echoShortArray(short[] v) {
            return v;
        }

        @Override
        public double[] echoDoubleArray(double[] v) {
            return v;
        }

        @Override
        public boolean[] echoBoolArray(boolean[] v) {
            return v;
        }

        @Override
        public char[] echoCharArray(char[] v) {
            return v;
        }

        @Override
        public Object[] echoObjectArray(Object[] v) {
            return v;
        }

        @Override
        public Integer[] echoBoxedIntArray(Integer[] v) {
            return v;
        }

        @Override
        public Set<Object> echoSet(Set<Object> v) {
            return v;
        }

        @Override
        public Map<Object, Object> echoObjectMap(Map<Object, Object> v) {
            return v;
        }

        @Override
        public Map<Integer, String> echoIntKeyMap(Map<Integer, String> v) {
            return v;
        }

        @Override
        public Map<Integer, List<User>> echoNested(Map<Integer, List<User>> v) {
            return v;
        }

        @Override
        public Animal echoAnimal(Animal v) {
            return v;
        }

        @Override
        public Dog echoDog(Dog v) {
            return v;
        }

        @Override
        public Color echoColor(Color v) {
            return v;
        }

        @Override
        public Node echoNode(Node v) {
            return v;
        }

        @Override
        public java.util.Date echoDate(java.util.Date v) {
            return v;
        }

        @Override
        public java.math.BigDecimal echoBigDecimal(java.math.BigDecimal v) {
            return v;
        }

        @Override
        public java.math.BigInteger echoBigInteger(java.math.BigInteger v) {
            return v;
        }

        @Override
        public java.time.LocalDateTime echoLocalDateTime(java.time.LocalDateTime v) {
            return v;
        }

        @Override
        public java.time.LocalDate echoLocalDate(java.time.LocalDate v) {
            return v;
        }

        @Override
        public java.time.Instant echoInstant(java.time.Instant v) {
            return v;
        }

        @Override
        public String throwTyped(int code, String detail) {
            throw new org.apache.dubbo.demo.TypeException(code, detail);
        }

        @Override
        public User[] echoUserArray(User[] v) {
            return v;
        }

        @Override
        public int[][] echoIntMatrix(int[][] v) {
            return v;
        }

        @Override
        public String[][] echoStringMatrix(String[][] v) {
            return v;
        }

        @Override
        public Color[] echoColorArray(Color[] v) {
            return v;
        }

        @Override
        public java.time.LocalTime echoLocalTime(java.time.LocalTime v) {
            return v;
        }

        @Override
        public java.time.Duration echoDuration(java.time.Duration v) {
            return v;
        }

        @Override
        public java.time.OffsetDateTime echoOffsetDateTime(java.time.OffsetDateTime v) {
            return v;
        }

        @Override
        public java.time.ZonedDateTime echoZonedDateTime(java.time.ZonedDateTime v) {
            return v;
        }

        @Override
        public String throwCaused(int code, String detail) {
            throw new org.apache.dubbo.demo.TypeException(code, detail,
                    new IllegalArgumentException("root " + detail));
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: JavaProvider PORT   (0 = a free port)");
            System.exit(2);
        }
        Loopback.pin();
        // generic=bean sends JavaBeanDescriptors, which 3.3's serialization check refuses to
        // read unless allowed (2.7 has no such check).
        System.setProperty("dubbo.security.serialize.allowedClassList",
                "org.apache.dubbo.common.beanutil.JavaBeanDescriptor");
        int port = Integer.parseInt(args[0]);
        if (port == 0) {
            port = freePort();
        }

        ServiceConfig<DemoService> service = new ServiceConfig<>();
        service.setInterface(DemoService.class);
        service.setRef(new Impl());
        service.setVersion("1.0.0");
        MethodConfig notify = new MethodConfig();
        notify.setName("notify");
        ArgumentConfig listener = new ArgumentConfig();
        listener.setIndex(1);
        listener.setCallback(true);
        notify.setArguments(Collections.singletonList(listener));
        MethodConfig add = new MethodConfig();
        add.setName("addListener");
        add.setArguments(Collections.singletonList(listener));
        MethodConfig remove = new MethodConfig();
        remove.setName("removeListener");
        ArgumentConfig unsubscribe = new ArgumentConfig();
        unsubscribe.setIndex(1);
        unsubscribe.setCallback(false);
        remove.setArguments(Collections.singletonList(unsubscribe));
        service.setMethods(java.util.Arrays.asList(notify, add, remove));
        // Three listener instances per connection (Dubbo's default is one).
        service.setCallbacks(3);

        ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
        protocol.setHost("127.0.0.1");
        protocol.setSerialization("hessian2");
        Compat.preferHessian(protocol);

        ApplicationConfig application = new ApplicationConfig("tether-interop-java-provider");
        application.setQosEnable(false);

        DubboBootstrap bootstrap = DubboBootstrap.getInstance()
                .application(application)
                .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE))
                .protocol(protocol)
                .service(service);
        bootstrap.start();

        int bound = service.getExportedUrls().get(0).getPort();
        System.err.println("JavaProvider: Dubbo " + Version.getVersion() + " (line " + Compat.LINE
                + ") exported " + service.getExportedUrls().get(0));
        System.out.println("listening on 127.0.0.1:" + bound);
        System.out.flush();

        // Serve until stdin closes (the test's end) or the process is killed.
        InputStream in = System.in;
        byte[] buf = new byte[256];
        while (in.read(buf) >= 0) {
            // ignore input
        }
        System.err.println("JavaProvider: stdin closed, stopping");
        System.exit(0);
    }
}
