package interop;

import static interop.JavaConsumer.check;
import static interop.JavaConsumer.describe;
import static interop.JavaConsumer.eq;
import static interop.JavaConsumer.reference;
import static interop.JavaConsumer.show;
import static interop.JavaConsumer.throwsFrom;
import static interop.JavaConsumer.truth;

import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;

import org.apache.dubbo.common.beanutil.JavaBeanDescriptor;
import org.apache.dubbo.common.beanutil.JavaBeanSerializeUtil;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.demo.Color;
import org.apache.dubbo.demo.DemoService;
import org.apache.dubbo.demo.User;
import org.apache.dubbo.rpc.service.GenericService;

/**
 * Generic calls in detail (issue 11), as a Java generic consumer sees the answers: what
 * GenericFilter's PojoUtils.generalize makes of enums, dates, BigDecimal, arrays, nested
 * POJOs and null fields, how an exception is wrapped, the raw.return mode, a consumer with
 * the interface calling through generic=true, and the bean and nativejava modes. The
 * expectations are Java's own: the cases pass against JavaProvider (-Dinterop.peer=java).
 */
final class GenericCases {
    private GenericCases() {}

    static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    static Map<String, Object> userMap(String name, int age) {
        return map("class", "org.apache.dubbo.demo.User", "name", name, "age", age);
    }

    /** A getter of a GenericException (2.7 has two unrelated classes of that name). */
    static Object property(Throwable t, String getter) throws Exception {
        return t.getClass().getMethod(getter).invoke(t);
    }

    /** Checks a GenericException as GenericFilter wraps {@code class: message}. */
    static void wrapped(Throwable t, String exceptionClass, String message) throws Exception {
        truth(t.getClass().getSimpleName().equals("GenericException"), "got " + describe(t));
        eq(property(t, "getExceptionClass"), exceptionClass);
        eq(property(t, "getExceptionMessage"), message);
        String first = t.getMessage() == null ? null : t.getMessage().split("\n", 2)[0];
        eq(first, message == null ? exceptionClass : exceptionClass + ": " + message);
    }

    static GenericService generic(String mode) {
        ReferenceConfig<GenericService> ref = reference(r -> {
            r.setInterface("org.apache.dubbo.demo.DemoService");
            r.setGeneric(mode);
        });
        return ref.get();
    }

    static void run(GenericService g) {
        String[] color = {"org.apache.dubbo.demo.Color"};
        check("generic.enum", () -> eq(g.$invoke("echoColor", color, new Object[] {"GREEN"}), "GREEN"));
        check("generic.enum-array", () -> eq(
                g.$invoke("echoColorArray", new String[] {"org.apache.dubbo.demo.Color[]"},
                        new Object[] {new String[] {"RED", "BLUE"}}),
                new String[] {"RED", "BLUE"}));
        Date date = new Date(1_700_000_000_123L);
        check("generic.date", () -> eq(
                g.$invoke("echoDate", new String[] {"java.util.Date"}, new Object[] {date}), date));
        BigDecimal decimal = new BigDecimal("-12.50");
        check("generic.bigdecimal", () -> eq(
                g.$invoke("echoBigDecimal", new String[] {"java.math.BigDecimal"}, new Object[] {decimal}),
                decimal));
        int[] ints = {1, -1, 70_000};
        check("generic.int-array", () -> eq(
                g.$invoke("echoIntArray", new String[] {"int[]"}, new Object[] {ints}), ints));
        check("generic.user-array", () -> {
            Object got = g.$invoke("echoUserArray", new String[] {"org.apache.dubbo.demo.User[]"},
                    new Object[] {new Object[] {map("name", "a", "age", 1), null}});
            truth(got instanceof Object[] && got.getClass() == Object[].class, "got " + show(got));
            eq(got, new Object[] {userMap("a", 1), null});
        });
        check("generic.nested", () -> {
            Map<Integer, Object> nested = new HashMap<>();
            nested.put(7, new ArrayList<>(Arrays.asList(map("name", "n", "age", 2))));
            Map<Integer, Object> want = new HashMap<>();
            want.put(7, new ArrayList<>(Arrays.asList(userMap("n", 2))));
            eq(g.$invoke("echoNested", new String[] {"java.util.Map"}, new Object[] {nested}), want);
        });
        check("generic.null-field", () -> {
            Object got = g.$invoke("echoUser", new String[] {"org.apache.dubbo.demo.User"},
                    new Object[] {map("name", null, "age", 5)});
            truth(got instanceof Map && ((Map<?, ?>) got).containsKey("name"), "got " + show(got));
            eq(got, userMap(null, 5));
        });
        check("generic.local-date", () -> eq(
                g.$invoke("echoLocalDate", new String[] {"java.time.LocalDate"},
                        new Object[] {LocalDate.of(2024, 2, 29)}),
                "2024-02-29"));
        check("generic.local-date-time", () -> eq(
                g.$invoke("echoLocalDateTime", new String[] {"java.time.LocalDateTime"},
                        new Object[] {LocalDateTime.of(2001, 9, 9, 1, 46, 40, 500_000_000)}),
                "2001-09-09T01:46:40.500"));
        check("generic.exception.fields", () -> wrapped(
                throwsFrom(() -> g.$invoke("throwException", new String[] {"java.lang.String"},
                        new Object[] {"g bad ☃"})),
                "java.lang.RuntimeException", "g bad ☃"));
        check("generic.exception.null-message", () -> wrapped(
                throwsFrom(() -> g.$invoke("throwException", new String[] {"java.lang.String"},
                        new Object[] {null})),
                "java.lang.RuntimeException", null));
        check("generic.exception.typed", () -> wrapped(
                throwsFrom(() -> g.$invoke("throwTyped", new String[] {"int", "java.lang.String"},
                        new Object[] {7, "d"})),
                "org.apache.dubbo.demo.TypeException", "type 7"));

        // A consumer with the interface whose URL says generic=true (as a registry says it of
        // a generic implementation): its calls travel as $invoke, its arguments generalized,
        // the answers realized back, and an exception rebuilt from exceptionClass and
        // exceptionMessage.
        ReferenceConfig<DemoService> viaGenericRef = reference(r -> {
            r.setInterface(DemoService.class);
            r.getParameters().put("generic", "true");
        });
        DemoService viaGeneric = viaGenericRef.get();
        check("generic.interface.user", () -> eq(viaGeneric.echoUser(new User("gi", 4)), new User("gi", 4)));
        check("generic.interface.enum", () -> eq(viaGeneric.echoColor(Color.BLUE), Color.BLUE));
        check("generic.interface.exception", () -> {
            Throwable t = throwsFrom(() -> viaGeneric.throwException("gi bad"));
            eq(t.getClass().getName(), "java.lang.RuntimeException");
            // The message is set into Throwable.detailMessage by reflection: 3.3 runs here
            // without --add-opens java.base/java.lang and leaves it null.
            eq(t.getMessage(), Compat.LINE.equals("3.3") ? null : "gi bad");
        });

        GenericService raw = generic("raw.return");
        check("generic.raw-return", () -> eq(
                raw.$invoke("echoUser", new String[] {"org.apache.dubbo.demo.User"},
                        new Object[] {map("name", "r", "age", 3)}),
                new User("r", 3)));
        check("generic.raw-return.exception", () -> wrapped(
                throwsFrom(() -> raw.$invoke("throwException", new String[] {"java.lang.String"},
                        new Object[] {"raw bad"})),
                "java.lang.RuntimeException", "raw bad"));

        // bean: arguments and answer are JavaBeanDescriptors. Java answers; tether refuses the
        // mode by name rather than misread the descriptors.
        GenericService bean = generic("bean");
        check("generic.bean", () -> {
            JavaBeanDescriptor arg = JavaBeanSerializeUtil.serialize("x");
            if (JavaConsumer.JAVA_PEER) {
                Object got = bean.$invoke("sayHello", new String[] {"java.lang.String"}, new Object[] {arg});
                truth(got instanceof JavaBeanDescriptor, "got " + show(got));
                eq(JavaBeanSerializeUtil.deserialize((JavaBeanDescriptor) got), "Hello x");
            } else {
                Throwable t = throwsFrom(() -> bean.$invoke("sayHello", new String[] {"java.lang.String"},
                        new Object[] {arg}));
                truth(describe(t).contains("Generic serialization [bean] is not supported"), describe(t));
            }
        });
        // nativejava: arguments are Java-serialized bytes. Java refuses it unless enabled
        // (dubbo.security.serialize.generic.native-java-enable); tether refuses it by name.
        GenericService nativeJava = generic("nativejava");
        check("generic.nativejava", () -> {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject("x");
            }
            Throwable t = throwsFrom(() -> nativeJava.$invoke("sayHello", new String[] {"java.lang.String"},
                    new Object[] {bytes.toByteArray()}));
            String said = describe(t);
            truth(JavaConsumer.JAVA_PEER
                    ? said.contains("Native Java Serializer is not allowed")
                    : said.contains("Generic serialization [nativejava] is not supported"), said);
        });
    }
}
