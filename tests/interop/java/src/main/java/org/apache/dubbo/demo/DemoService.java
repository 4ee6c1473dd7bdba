package org.apache.dubbo.demo;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The demo contract, as tether's conformance-suite provider serves it (tests/src/demo.rs
 * demo_service() plus tests/src/conformance.rs suite_service()). Parameter types match the
 * Rust descriptors exactly: tether finds a method by name and descriptor.
 */
public interface DemoService {
    String sayHello(String name);

    String ping();

    String echoString(String s);

    int echoInt(int v);

    long echoLong(long v);

    double echoDouble(double v);

    boolean echoBool(boolean v);

    List<Object> echoList(List<Object> v);

    Map<String, Object> echoMap(Map<String, Object> v);

    byte[] echoBytes(byte[] v);

    String[] echoStringArray(String[] v);

    int[] echoIntArray(int[] v);

    User echoUser(User u);

    /** {@code s + ":" + i + ":" + b}, Java string concatenation (null prints "null"). */
    String join(String s, int i, boolean b);

    /** The request attachment {@code key}, or null. */
    String getAttachment(String key);

    /** Throws {@code new RuntimeException(message)}. */
    String throwException(String message);

    // The conformance suite's additions.

    /** Returns {@code ms} after sleeping {@code ms} milliseconds (asynchronously). */
    long sleep(long ms);

    /** Never returns (until the provider stops). */
    void hang();

    /** Counted; for one-way calls. */
    void log(String line);

    /** Calls {@code listener.changed(i)} for i in 0..times, after returning (a parameter callback). */
    void notify(int times, Listener listener);

    /**
     * Keeps {@code listener} (a parameter callback, argument 1 {@code callback="true"}) under
     * {@code key}. The provider allows 3 listener instances per connection ({@code callbacks}).
     */
    void addListener(String key, Listener listener);

    /**
     * Unsubscribes {@code listener} (argument 1 {@code callback="false"}): the framework
     * destroys the provider's proxy. The provider keeps whatever it held under {@code key}.
     */
    void removeListener(String key, Listener listener);

    /**
     * Calls {@code changed(value)} on the listener kept under {@code key}: {@code "ok"},
     * {@code "absent"} (none kept), or {@code "failed: <exception>"} if the call failed.
     */
    String fire(String key, int value);

    /** Fails: tether's provider panics (status 70), Java's throws. */
    String boom();

    String threadName();

    /** {@code n} 'x's. */
    String repeat(int n);

    /** {@code n} 'x' bytes, {@code ms} milliseconds later. */
    byte[] bytesAfter(int n, long ms);

    // The type matrix (issue 11): tether's side is tests/src/types.rs, Java's cases are in
    // interop.TypeCases. Each echoes its argument.

    byte echoByte(byte v);

    short echoShort(short v);

    char echoChar(char v);

    float echoFloat(float v);

    Byte echoBoxedByte(Byte v);

    Short echoBoxedShort(Short v);

    Integer echoBoxedInt(Integer v);

    Long echoBoxedLong(Long v);

    Float echoBoxedFloat(Float v);

    Double echoBoxedDouble(Double v);

    Boolean echoBoxedBool(Boolean v);

    Character echoBoxedChar(Character v);

    long[] echoLongArray(long[] v);

    short[] echoShortArray(short[] v);

    double[] echoDoubleArray(double[] v);

    boolean[] echoBoolArray(boolean[] v);

    char[] echoCharArray(char[] v);

    Object[] echoObjectArray(Object[] v);

    Integer[] echoBoxedIntArray(Integer[] v);

    Set<Object> echoSet(Set<Object> v);

    /** Keys of any type (Integer, Long, a POJO...), any Map class (LinkedHashMap...). */
    Map<Object, Object> echoObjectMap(Map<Object, Object> v);

    Map<Integer, String> echoIntKeyMap(Map<Integer, String> v);

    Map<Integer, List<User>> echoNested(Map<Integer, List<User>> v);

    /** Polymorphic: a Dog comes back a Dog. */
    Animal echoAnimal(Animal v);

    Dog echoDog(Dog v);

    Color echoColor(Color v);

    /** Cyclic graphs come back cyclic. */
    Node echoNode(Node v);

    java.util.Date echoDate(java.util.Date v);

    java.math.BigDecimal echoBigDecimal(java.math.BigDecimal v);

    java.math.BigInteger echoBigInteger(java.math.BigInteger v);

    java.time.LocalDateTime echoLocalDateTime(java.time.LocalDateTime v);

    java.time.LocalDate echoLocalDate(java.time.LocalDate v);

    java.time.Instant echoInstant(java.time.Instant v);

    /** Throws {@code new TypeException(code, detail)} (message {@code "type " + code}). */
    String throwTyped(int code, String detail) throws TypeException;

    User[] echoUserArray(User[] v);

    int[][] echoIntMatrix(int[][] v);

    String[][] echoStringMatrix(String[][] v);

    Color[] echoColorArray(Color[] v);

    java.time.LocalTime echoLocalTime(java.time.LocalTime v);

    java.time.Duration echoDuration(java.time.Duration v);

    java.time.OffsetDateTime echoOffsetDateTime(java.time.OffsetDateTime v);

    java.time.ZonedDateTime echoZonedDateTime(java.time.ZonedDateTime v);

    /**
     * Throws {@code new TypeException(code, detail, new IllegalArgumentException("root " + detail))}:
     * a custom exception with a cause.
     */
    String throwCaused(int code, String detail) throws TypeException;
}
