package interop;

import static interop.JavaConsumer.check;
import static interop.JavaConsumer.eq;

import static interop.JavaConsumer.throwsFrom;
import static interop.JavaConsumer.truth;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.dubbo.demo.Animal;
import org.apache.dubbo.demo.Color;
import org.apache.dubbo.demo.DemoService;
import org.apache.dubbo.demo.Dog;
import org.apache.dubbo.demo.Node;
import org.apache.dubbo.demo.TypeException;
import org.apache.dubbo.demo.User;

/**
 * The type matrix (issue 11), Java's consumer side: every value goes to the provider and
 * must come back equal (Objects.deepEquals: arrays by content, Float/Double by bits).
 * tether's consumer side of the same matrix is tests/src/types.rs.
 */
final class TypeCases {
    private TypeCases() {}

    /** A string with supplementary characters (surrogate pairs) at both ends and inside. */
    static final String SUPPLEMENTARY = "\uD834\uDD1E clef, \uD83D\uDE00 grin, \uD800\uDC00 first, \uDBFF\uDFFF last\uD83D\uDE80";

    static void run(DemoService d) {
        primitives(d);
        arrays(d);
        collections(d);
        objects(d);
        timeAndNumbers(d);
        exceptions(d);
    }

    static void primitives(DemoService d) {
        for (byte v : new byte[] {0, 1, -1, 127, -128}) {
            check("types.byte." + v, () -> eq(d.echoByte(v), v));
        }
        for (short v : new short[] {0, -1, 2047, -2048, 2048, 32767, -32768}) {
            check("types.short." + v, () -> eq(d.echoShort(v), v));
        }
        for (char v : new char[] {'a', '\0', '\u00e9', '\u2603', '\uffff'}) {
            check("types.char.U+" + Integer.toHexString(v), () -> eq(d.echoChar(v), v));
        }
        // A lone surrogate is a Java char, but no Unicode scalar value.
        check("types.char.lone-surrogate", () -> eq(d.echoChar('\uD83D'), '\uD83D'));
        // hessian-lite writes any double that is an int 0 as 0x5B, -0.0 included (tether too):
        // the sign of a zero is lost on the wire, Java to Java as well.
        check("types.float.-0.0", () -> eq(d.echoFloat(-0f), 0f));
        for (float v : new float[] {0f, 1.5f, 0.1f, -3.25f, 1e-45f, Float.MAX_VALUE, Float.MIN_NORMAL,
                Float.POSITIVE_INFINITY, Float.NaN, 65.535f, 127f, -128f}) {
            check("types.float." + v, () -> eq(d.echoFloat(v), v));
        }
        check("types.Byte", () -> eq(d.echoBoxedByte((byte) -7), (byte) -7));
        check("types.Byte.null", () -> eq(d.echoBoxedByte(null), null));
        check("types.Short", () -> eq(d.echoBoxedShort((short) 300), (short) 300));
        check("types.Short.null", () -> eq(d.echoBoxedShort(null), null));
        check("types.Integer", () -> eq(d.echoBoxedInt(Integer.MIN_VALUE), Integer.MIN_VALUE));
        check("types.Integer.null", () -> eq(d.echoBoxedInt(null), null));
        check("types.Long", () -> eq(d.echoBoxedLong(Long.MAX_VALUE), Long.MAX_VALUE));
        check("types.Long.small", () -> eq(d.echoBoxedLong(3L), 3L));
        check("types.Long.null", () -> eq(d.echoBoxedLong(null), null));
        check("types.Float", () -> eq(d.echoBoxedFloat(2.5f), 2.5f));
        check("types.Float.null", () -> eq(d.echoBoxedFloat(null), null));
        check("types.Double", () -> eq(d.echoBoxedDouble(1.25e-7), 1.25e-7));
        check("types.Double.-0.0", () -> eq(d.echoBoxedDouble(-0.0), 0.0));
        check("types.Double.null", () -> eq(d.echoBoxedDouble(null), null));
        check("types.Boolean", () -> eq(d.echoBoxedBool(true), true));
        check("types.Boolean.null", () -> eq(d.echoBoxedBool(null), null));
        check("types.Character", () -> eq(d.echoBoxedChar('\u00df'), '\u00df'));
        check("types.Character.null", () -> eq(d.echoBoxedChar(null), null));
        check("types.string.supplementary", () -> eq(d.echoString(SUPPLEMENTARY), SUPPLEMENTARY));
        check("types.string.lone-surrogate", () -> eq(d.echoString("a\uDC00b"), "a\uDC00b"));
        // A surrogate pair across the 32768-unit boundary of a string chunk ('R'), both ways.
        String straddle = "x" + "\uD83D\uDE00".repeat(20_000);
        check("types.string.pair-at-chunk-boundary", () -> eq(d.echoString(straddle), straddle));
    }

    static void arrays(DemoService d) {
        long[] longs = {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 40, 2047, -2048};
        check("types.long[]", () -> eq(d.echoLongArray(longs), longs));
        check("types.long[].empty", () -> eq(d.echoLongArray(new long[0]), new long[0]));
        check("types.long[].null", () -> eq(d.echoLongArray(null), null));
        short[] shorts = {0, -1, Short.MIN_VALUE, Short.MAX_VALUE};
        check("types.short[]", () -> eq(d.echoShortArray(shorts), shorts));
        double[] doubles = {0.0, -0.0, 1.5, 0.1, 1e300, Double.NaN, Double.NEGATIVE_INFINITY};
        double[] unsigned = {0.0, 0.0, 1.5, 0.1, 1e300, Double.NaN, Double.NEGATIVE_INFINITY};
        check("types.double[]", () -> eq(d.echoDoubleArray(doubles), unsigned));
        boolean[] bools = {true, false, true};
        check("types.boolean[]", () -> eq(d.echoBoolArray(bools), bools));
        char[] chars = {'a', '\u2603', 'z'};
        check("types.char[]", () -> eq(d.echoCharArray(chars), chars));
        check("types.char[].null", () -> eq(d.echoCharArray(null), null));
        Object[] objects = {1, "two", 3L, 4.5, true, null, new byte[] {6}, new int[] {7, 8}};
        check("types.Object[]", () -> eq(d.echoObjectArray(objects), objects));
        check("types.Object[].empty", () -> eq(d.echoObjectArray(new Object[0]), new Object[0]));
        check("types.Object[].null", () -> eq(d.echoObjectArray(null), null));
        Integer[] boxed = {1, null, -3};
        check("types.Integer[]", () -> eq(d.echoBoxedIntArray(boxed), boxed));
        User[] users = {new User("a", 1), null, new User(null, -2)};
        check("types.User[]", () -> eq(d.echoUserArray(users), users));
        check("types.User[].empty", () -> eq(d.echoUserArray(new User[0]), new User[0]));
        int[][] matrix = {{1, 2, 3}, {}, null, {-4}};
        check("types.int[][]", () -> eq(d.echoIntMatrix(matrix), matrix));
        String[][] strings = {{"a", null}, null, {}};
        check("types.String[][]", () -> eq(d.echoStringMatrix(strings), strings));
        Color[] colors = {Color.BLUE, null, Color.RED, Color.BLUE};
        check("types.Color[]", () -> eq(d.echoColorArray(colors), colors));
        Object[] rich = {new Date(5), new BigDecimal("1.50"), Color.BLUE, new User("u", 1), new int[][] {{1}, {2, 3}},
                new String[] {"s"}};
        check("types.Object[].rich", () -> eq(d.echoObjectArray(rich), rich));
        // Every compact number form at its boundaries, boxed (int, long, double forms kept).
        Object[] numbers = {-16, 47, 48, -2048, 2047, 2048, -262144, 262143, 262144, Integer.MIN_VALUE,
                -8L, 15L, 16L, -2048L, 2047L, 2048L, -262144L, 262143L, 262144L, (long) Integer.MAX_VALUE,
                Integer.MAX_VALUE + 1L, Long.MIN_VALUE, 0.0, 1.0, -128.0, 127.0, 128.0, -32768.0, 32767.0, 32768.0,
                0.001, -2147483.648, 2147483.647, 2147483.648, 1e-300};
        check("types.Object[].number-forms", () -> eq(d.echoObjectArray(numbers), numbers));
    }

    static void collections(DemoService d) {
        Set<Object> set = new HashSet<>(Arrays.asList(1, "two", 3L, null));
        check("types.Set", () -> {
            Set<Object> got = d.echoSet(set);
            eq(got, set);
            truth(got instanceof HashSet, "a " + got.getClass().getName());
        });
        check("types.Set.empty", () -> eq(d.echoSet(new HashSet<>()), new HashSet<>()));
        check("types.Set.null", () -> eq(d.echoSet(null), null));
        Map<Object, Object> mixed = new HashMap<>();
        mixed.put(1, "int");
        mixed.put(2L, "long");
        mixed.put("three", 3);
        mixed.put(new User("key", 4), Arrays.asList(4, 4));
        mixed.put(null, "null key");
        check("types.HashMap.non-string-keys", () -> eq(d.echoObjectMap(mixed), mixed));
        Map<Object, Object> linked = new LinkedHashMap<>();
        linked.put(30, "c");
        linked.put(10, "a");
        linked.put(20, "b");
        check("types.LinkedHashMap.int-keys", () -> {
            Map<Object, Object> got = d.echoObjectMap(linked);
            eq(got, linked);
            truth(got instanceof LinkedHashMap, "a " + got.getClass().getName());
            eq(new ArrayList<>(got.keySet()), Arrays.asList(30, 10, 20));
        });
        Map<Integer, String> ints = new HashMap<>();
        ints.put(-1, "minus one");
        ints.put(0, null);
        ints.put(100_000, "many");
        check("types.Map<Integer,String>", () -> eq(d.echoIntKeyMap(ints), ints));
        Map<Integer, List<User>> nested = new HashMap<>();
        nested.put(1, Arrays.asList(new User("a", 1), new User(null, 2)));
        nested.put(2, new ArrayList<>());
        nested.put(3, null);
        check("types.Map<Integer,List<User>>", () -> eq(d.echoNested(nested), nested));
    }

    static void objects(DemoService d) {
        Dog rex = new Dog("rex", 4, "collie", Color.GREEN, true);
        check("types.Dog", () -> eq(d.echoDog(rex), rex));
        Dog nulls = new Dog(null, null, null, null, false);
        check("types.Dog.null-fields", () -> eq(d.echoDog(nulls), nulls));
        check("types.Dog.null", () -> eq(d.echoDog(null), null));
        check("types.Animal", () -> eq(d.echoAnimal(new Animal("cat", 4)), new Animal("cat", 4)));
        check("types.Animal.subclass", () -> eq(d.echoAnimal(rex), rex));
        for (Color c : Color.values()) {
            check("types.enum." + c, () -> eq(d.echoColor(c), c));
        }
        check("types.enum.null", () -> eq(d.echoColor(null), null));
        check("types.cycle.self", () -> {
            Node n = new Node("self");
            n.next = n;
            Node got = d.echoNode(n);
            eq(got.name, "self");
            truth(got.next == got, "next is not itself: " + got.next);
        });
        check("types.cycle.two", () -> {
            Node a = new Node("a");
            Node b = new Node("b");
            a.next = b;
            b.next = a;
            Node got = d.echoNode(a);
            eq(got.name, "a");
            eq(got.next.name, "b");
            truth(got.next.next == got, "b.next is not a: " + got.next.next);
        });
        check("types.cycle.none", () -> {
            Node a = new Node("a");
            a.next = new Node("b");
            Node got = d.echoNode(a);
            eq(got.name + got.next.name + got.next.next, "abnull");
        });
        // A shared (not cyclic) object: Java's Hessian writes the second occurrence as a
        // back-reference (0x51), and Java's reader restores one shared instance.
        check("types.shared-reference", () -> {
            User u = new User("shared", 1);
            List<Object> got = d.echoList(new ArrayList<>(Arrays.asList(u, u)));
            eq(got, Arrays.asList(u, u));
            truth(got.get(0) == got.get(1), "two copies, not one shared instance");
        });
    }

    static void timeAndNumbers(DemoService d) {
        for (long ms : new long[] {1_700_000_000_123L, 0L, -1L, 253_402_300_799_999L}) {
            check("types.Date." + ms, () -> eq(d.echoDate(new Date(ms)), new Date(ms)));
        }
        check("types.Date.null", () -> eq(d.echoDate(null), null));
        for (String v : new String[] {"-12345.678900", "0", "1E+400", "0.000000000000000000001"}) {
            check("types.BigDecimal." + v, () -> eq(d.echoBigDecimal(new BigDecimal(v)), new BigDecimal(v)));
        }
        check("types.BigDecimal.null", () -> eq(d.echoBigDecimal(null), null));
        for (String v : new String[] {"-123456789012345678901234567890", "0", "1", "4294967296"}) {
            check("types.BigInteger." + v, () -> eq(d.echoBigInteger(new BigInteger(v)), new BigInteger(v)));
        }
        check("types.BigInteger.null", () -> eq(d.echoBigInteger(null), null));
        LocalDateTime leap = LocalDateTime.of(2024, 2, 29, 13, 45, 59, 123_456_789);
        check("types.LocalDateTime", () -> eq(d.echoLocalDateTime(leap), leap));
        LocalDateTime old = LocalDateTime.of(-44, 3, 15, 0, 0);
        check("types.LocalDateTime.bce", () -> eq(d.echoLocalDateTime(old), old));
        check("types.LocalDateTime.null", () -> eq(d.echoLocalDateTime(null), null));
        check("types.LocalDate", () -> eq(d.echoLocalDate(LocalDate.of(2024, 2, 29)), LocalDate.of(2024, 2, 29)));
        Instant instant = Instant.ofEpochSecond(1_700_000_000L, 123_456_789);
        check("types.Instant", () -> eq(d.echoInstant(instant), instant));
        Instant before = Instant.ofEpochSecond(-1L, 999_999_999);
        check("types.Instant.before-epoch", () -> eq(d.echoInstant(before), before));
        check("types.Instant.null", () -> eq(d.echoInstant(null), null));
        check("types.LocalTime", () -> eq(d.echoLocalTime(LocalTime.of(1, 2, 3, 4)), LocalTime.of(1, 2, 3, 4)));
        check("types.Duration", () -> eq(d.echoDuration(Duration.ofSeconds(90_061, 5)), Duration.ofSeconds(90_061, 5)));
        check("types.Duration.negative", () -> eq(d.echoDuration(Duration.ofMillis(-1)), Duration.ofMillis(-1)));
        OffsetDateTime offset = OffsetDateTime.of(leap, ZoneOffset.ofHoursMinutes(-9, -30));
        check("types.OffsetDateTime", () -> eq(d.echoOffsetDateTime(offset), offset));
        ZonedDateTime zoned = ZonedDateTime.of(leap, ZoneId.of("Europe/Paris"));
        check("types.ZonedDateTime", () -> eq(d.echoZonedDateTime(zoned), zoned));
        ZonedDateTime utc = ZonedDateTime.of(leap, ZoneOffset.UTC);
        check("types.ZonedDateTime.Z", () -> eq(d.echoZonedDateTime(utc), utc));
    }

    static void exceptions(DemoService d) {
        check("types.exception.typed", () -> {
            Throwable t = throwsFrom(() -> d.throwTyped(7, "seven \u2603"));
            truth(t instanceof TypeException, "threw " + JavaConsumer.describe(t));
            TypeException e = (TypeException) t;
            eq(e.getMessage(), "type 7");
            eq(e.getCode(), 7);
            eq(e.getDetail(), "seven \u2603");
        });
        check("types.exception.typed-null-detail", () -> {
            Throwable t = throwsFrom(() -> d.throwTyped(-1, null));
            truth(t instanceof TypeException, "threw " + JavaConsumer.describe(t));
            eq(((TypeException) t).getCode(), -1);
            eq(((TypeException) t).getDetail(), null);
        });
        check("types.exception.with-cause", () -> {
            Throwable t = throwsFrom(() -> d.throwCaused(3, "three"));
            truth(t instanceof TypeException, "threw " + JavaConsumer.describe(t));
            eq(((TypeException) t).getCode(), 3);
            eq(((TypeException) t).getDetail(), "three");
            Throwable cause = t.getCause();
            truth(cause instanceof IllegalArgumentException, "cause " + cause);
            eq(cause.getMessage(), "root three");
            truth(cause.getCause() == null, "cause of the cause: " + cause.getCause());
        });
    }
}
