package interop;

import java.lang.reflect.Field;
import java.net.InetAddress;

import org.apache.dubbo.common.utils.NetUtils;

/**
 * Keeps Dubbo on the loopback interface. Dubbo replaces a local address (127.x, localhost)
 * in a URL with the host's first non-loopback address (NetUtils.filterLocalHost): a consumer
 * told {@code dubbo://127.0.0.1:PORT} connects to e.g. 192.0.2.2:PORT, which a peer bound to
 * 127.0.0.1 (tether's test providers) does not serve, and a provider advertises that
 * address. Dubbo has no setting for it, so its cached "local host" is set to 127.0.0.1 before
 * Dubbo reads it (the same fields on 2.7 and 3.3).
 */
final class Loopback {
    private Loopback() {}

    static void pin() {
        try {
            InetAddress loopback = InetAddress.getByName("127.0.0.1");
            set("LOCAL_ADDRESS", loopback);
            set("HOST_ADDRESS", "127.0.0.1");
        } catch (ReflectiveOperationException | java.io.IOException e) {
            throw new IllegalStateException("cannot pin Dubbo's local address to 127.0.0.1", e);
        }
        if (!"127.0.0.1".equals(NetUtils.getLocalHost())) {
            throw new IllegalStateException("Dubbo's local host is " + NetUtils.getLocalHost());
        }
    }

    private static void set(String name, Object value) throws ReflectiveOperationException {
        Field field = NetUtils.class.getDeclaredField(name);
        field.setAccessible(true);
        field.set(null, value);
    }
}
