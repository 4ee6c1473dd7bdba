package org.apache.dubbo.demo;

import java.io.Serializable;

/** A linked node of the type matrix: cyclic object graphs. */
public class Node implements Serializable {
    private static final long serialVersionUID = 1L;

    public String name;
    public Node next;

    public Node() {}

    public Node(String name) {
        this.name = name;
    }

    @Override
    public String toString() {
        return "Node{" + name + " -> " + (next == null ? null : next.name) + "}";
    }
}
