package interop;

import static interop.JavaConsumer.check;
import static interop.JavaConsumer.eq;

import org.apache.dubbo.demo.DemoService;

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
    }
}
