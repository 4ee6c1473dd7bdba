package org.apache.dubbo.demo;

/** A custom exception with fields of its own (DemoService#throwTyped). */
public class TypeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private int code;
    private String detail;

    public TypeException() {}

    public TypeException(int code, String detail) {
        super("type " + code);
        this.code = code;
        this.detail = detail;
    }

    public TypeException(int code, String detail, Throwable cause) {
        super("type " + code, cause);
        this.code = code;
        this.detail = detail;
    }

    public int getCode() {
        return code;
    }

    public String getDetail() {
        return detail;
    }
}
