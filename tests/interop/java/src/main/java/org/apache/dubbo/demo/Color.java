package org.apache.dubbo.demo;

/** An enum of the type matrix. */
public enum Color {
    RED,
    GREEN,
    BLUE
}
